/// The app's base URL, checked once: http(s), a host, no credentials, query or fragment.
/// Plain http is for loopback only unless the operator says otherwise: the bearer token would
/// cross the network in clear. Absolute route URLs are checked by the same rules.
public struct AppURL: Sendable, Equatable {
    public let scheme: String
    /// host[:port] as written.
    public let authority: String
    public let host: String
    /// The path prefix without a trailing slash ("" or "/prefix").
    public let pathPrefix: String

    public struct Invalid: Error, CustomStringConvertible {
        public let description: String
    }

    public init(_ text: String, allowInsecureHTTP: Bool = false) throws(Invalid) {
        let parts = try AppURL.parse(text, what: "app URL", hint: "https://host[:port][/prefix]",
                                     credentialsHint: "the token goes in SUPABASE_SERVICE_ROLE_KEY", allowQuery: false,
                                     allowInsecureHTTP: allowInsecureHTTP)
        self.scheme = parts.scheme
        self.authority = parts.authority
        self.host = parts.host
        var prefix = String(parts.path)
        while prefix.hasSuffix("/") { prefix.removeLast() }
        self.pathPrefix = prefix
    }

    /// Scheme, host and port: the bearer token goes only to the app's own origin.
    public struct Origin: Sendable, Hashable {
        public let scheme: String
        public let host: String
        public let port: Int
    }

    public var origin: Origin { AppURL.origin(scheme: scheme, host: host, authority: authority) }

    /// Checks an absolute route URL by the app URL's rules (http(s), a host, no credentials, plain
    /// http only to loopback unless allowed; a query is allowed) and returns its origin.
    public static func routeOrigin(_ url: String, allowInsecureHTTP: Bool) throws(Invalid) -> Origin {
        let parts = try parse(url, what: "URL", hint: "https://host[:port]/path",
                              credentialsHint: "give the route its token with --route-token TYPE=FILE", allowQuery: true,
                              allowInsecureHTTP: allowInsecureHTTP)
        return origin(scheme: parts.scheme, host: parts.host, authority: parts.authority)
    }

    private static func origin(scheme: String, host: String, authority: String) -> Origin {
        let afterHost = authority.hasPrefix("[")
            ? authority[(authority.firstIndex(of: "]").map { authority.index(after: $0) } ?? authority.endIndex)...]
            : authority.drop(while: { $0 != ":" })
        let port = Int(afterHost.dropFirst()) ?? (scheme == "https" ? 443 : 80)
        return Origin(scheme: scheme, host: host, port: port)
    }

    /// Every message quotes the text redacted: a URL refused for carrying credentials (or
    /// missing its scheme in front of them) must not print them.
    private static func parse(_ text: String, what: String, hint: String, credentialsHint: String, allowQuery: Bool,
                              allowInsecureHTTP: Bool) throws(Invalid) -> (scheme: String, authority: String, host: String, path: Substring) {
        let trimmed = text.trimmingCharacters(in: " ")
        let shown = RedactedURL.text(trimmed)
        guard let schemeEnd = trimmed.firstRange(of: "://") else {
            throw Invalid(description: "\(what) '\(shown)' has no scheme: write it as \(hint)")
        }
        let scheme = trimmed[..<schemeEnd.lowerBound].lowercased()
        guard scheme == "http" || scheme == "https" else {
            throw Invalid(description: "\(what) scheme '\(RedactedURL.text(scheme))' is not supported: use https:// (or http:// on loopback)")
        }
        let rest = trimmed[schemeEnd.upperBound...]
        guard !rest.contains(where: { $0.isWhitespace || (!allowQuery && ($0 == "?" || $0 == "#")) }) else {
            throw Invalid(description: allowQuery
                ? "\(what) '\(shown)' must not contain spaces"
                : "\(what) must not contain a query, fragment or spaces: write \(hint)")
        }
        let slash = rest.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? rest.endIndex
        let authority = String(rest[..<slash])
        guard !authority.contains("@") else {
            throw Invalid(description: "\(what) '\(shown)' must not carry credentials: \(credentialsHint)")
        }
        let host = AppURL.host(of: authority)
        guard !host.isEmpty, AppURL.validPort(authority) else {
            throw Invalid(description: "\(what) '\(shown)' has no valid host[:port]: write it as \(hint) with a port from 1 to 65535")
        }
        if scheme == "http" && !allowInsecureHTTP && !AppURL.isLoopback(host) {
            throw Invalid(description: "\(what) uses plain http to \(host), which would send the token in clear: use https, or pass --allow-insecure-http")
        }
        return (scheme, authority, host, rest[slash...])
    }

    /// The URL for a route: an absolute URL stands as it is, a path joins the prefix.
    public func resolve(_ route: String) -> String {
        if route.hasPrefix("http://") || route.hasPrefix("https://") { return route }
        let path = route.hasPrefix("/") ? route : "/" + route
        return "\(scheme)://\(authority)\(pathPrefix)\(path)"
    }

    public var description: String { "\(scheme)://\(authority)\(pathPrefix)" }

    static func host(of authority: String) -> String {
        if authority.hasPrefix("[") {
            return authority.firstIndex(of: "]").map { String(authority[authority.startIndex...$0]) } ?? ""
        }
        return String(authority.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)[0]).lowercased()
    }

    static func validPort(_ authority: String) -> Bool {
        let afterHost = authority.hasPrefix("[")
            ? authority[(authority.firstIndex(of: "]").map { authority.index(after: $0) } ?? authority.endIndex)...]
            : authority.drop(while: { $0 != ":" })
        guard !afterHost.isEmpty else { return true }
        guard afterHost.first == ":", let port = Int(afterHost.dropFirst()) else { return false }
        return (1...65_535).contains(port)
    }

    static func isLoopback(_ host: String) -> Bool {
        if host == "localhost" || host.hasSuffix(".localhost") || host == "[::1]" { return true }
        // 127.0.0.0/8 as a dotted quad only: "127.example.com" is a name that resolves anywhere.
        let octets = host.split(separator: ".", omittingEmptySubsequences: false)
        return octets.count == 4 && octets[0] == "127"
            && octets.allSatisfy { UInt8($0) != nil && $0.allSatisfy(\.isWholeNumber) }
    }
}
