/// Which bearer token goes with each route: the service-role key only to routes at the app's
/// origin, a route's own token (--route-token) to that route, and nothing to a route at another
/// origin without one. The key is the master key of the project: a webhook elsewhere never sees it.
/// With a signing secret every request is also signed; with --no-bearer-token the signature is
/// the only proof and no Authorization header is sent at all.
public struct Credentials: Sendable {
    /// nil with --no-bearer-token.
    public let appToken: Token?
    public let routeTokens: [String: Token]
    public let foreignTypes: Set<String>
    public let signing: SigningSecret?

    public init(appToken: Token?, routeTokens: [String: Token] = [:], foreignTypes: Set<String> = [],
                signing: SigningSecret? = nil) {
        self.appToken = appToken
        self.routeTokens = routeTokens
        self.foreignTypes = foreignTypes
        self.signing = signing
    }

    /// The token for `type`'s requests, or nil: send no Authorization header.
    public func token(for type: String) -> Token? {
        guard let appToken else { return nil }
        return routeTokens[type] ?? (foreignTypes.contains(type) ? nil : appToken)
    }

    /// What the requests carry, for `check` and the SIGHUP notice ("token from X, signed with 2
    /// secrets from Y"); never a secret itself.
    public var summary: String {
        let token = appToken.map { "token from \($0.source)" } ?? "no bearer token"
        guard let signing else { return token }
        let count = signing.keys.count
        return "\(token), signed with \(count == 1 ? "a secret" : "\(count) secrets") from \(signing.source)"
    }

    /// Reads the service-role key (see `Token.load`), each --route-token file with the same
    /// checks, and the signing secret (see `SigningSecret.load`). Called again on SIGHUP in repeat
    /// mode, so a rotated key or secret is picked up. `bearerToken` false (--no-bearer-token)
    /// needs a signing secret and no token at all.
    public static func load(tokenFile: String?, signingSecretFile: String? = nil, bearerToken: Bool = true,
                            configuration: RunConfiguration, environment: [String: String],
                            warn: (String) -> Void) throws(ConfigError) -> Credentials {
        let signing = try SigningSecret.load(file: signingSecretFile, environment: environment, warn: warn)
        guard bearerToken else {
            guard signing != nil else {
                throw .usage("--no-bearer-token needs a signing secret (--signing-secret-file, $CREDENTIALS_DIRECTORY/signing-secret or PROCESS_JOBS_SIGNING_SECRET): otherwise nothing proves a request came from process-jobs")
            }
            if tokenFile != nil { throw .usage("--token-file and --no-bearer-token contradict each other: drop one") }
            if !configuration.routeTokenFiles.isEmpty {
                throw .usage("--route-token and --no-bearer-token contradict each other: with --no-bearer-token no request carries a token")
            }
            return Credentials(appToken: nil, foreignTypes: configuration.foreignTypes, signing: signing)
        }
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
        return Credentials(appToken: appToken, routeTokens: routeTokens, foreignTypes: configuration.foreignTypes,
                           signing: signing)
    }
}
