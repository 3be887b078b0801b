/// Which bearer token goes with each route: the service-role key only to routes at the app's
/// origin, a route's own token (--route-token) to that route, and nothing to a route at another
/// origin without one. The key is the master key of the project: a webhook elsewhere never sees it.
public struct Credentials: Sendable {
    public let appToken: Token
    public let routeTokens: [String: Token]
    public let foreignTypes: Set<String>

    public init(appToken: Token, routeTokens: [String: Token] = [:], foreignTypes: Set<String> = []) {
        self.appToken = appToken
        self.routeTokens = routeTokens
        self.foreignTypes = foreignTypes
    }

    /// The token for `type`'s requests, or nil: send no Authorization header.
    public func token(for type: String) -> Token? {
        routeTokens[type] ?? (foreignTypes.contains(type) ? nil : appToken)
    }

    /// Reads the service-role key (see `Token.load`) and each --route-token file, with the same
    /// checks. Called again on SIGHUP in repeat mode, so a rotated key is picked up.
    public static func load(tokenFile: String?, configuration: RunConfiguration, environment: [String: String],
                            warn: (String) -> Void) throws(ConfigError) -> Credentials {
        let appToken = try Token.load(tokenFile: tokenFile, environment: environment, warn: warn)
        var routeTokens: [String: Token] = [:]
        for (type, path) in configuration.routeTokenFiles.sorted(by: { $0.key < $1.key }) {
            do {
                routeTokens[type] = try Token.fromFile(path, source: path,
                                                       warn: { warn("--route-token \(type): \($0)") }, missing: { .usage($0) })
            } catch {
                switch error {
                case .usage(let text): throw .usage("--route-token \(type): \(text)")
                case .configuration(let text): throw .configuration("--route-token \(type): \(text)")
                }
            }
        }
        return Credentials(appToken: appToken, routeTokens: routeTokens, foreignTypes: configuration.foreignTypes)
    }
}
