/// The app's base URL, checked once: http(s), a host, no credentials, query or fragment.
/// Plain http is for loopback only unless the operator says otherwise: the bearer token would
/// cross the network in clear.
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
        let trimmed = text.trimmingCharacters(in: " ")
        guard let schemeEnd = trimmed.firstRange(of: "://") else {
            throw Invalid(description: "app URL '\(trimmed)' has no scheme: write it as https://host[:port][/prefix]")
        }
        let scheme = trimmed[..<schemeEnd.lowerBound].lowercased()
        guard scheme == "http" || scheme == "https" else {
            throw Invalid(description: "app URL scheme '\(scheme)' is not supported: use https:// (or http:// on loopback)")
        }
        let rest = trimmed[schemeEnd.upperBound...]
        guard !rest.contains(where: { $0 == "?" || $0 == "#" || $0.isWhitespace }) else {
            throw Invalid(description: "app URL must not contain a query, fragment or spaces: write https://host[:port][/prefix]")
        }
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        let authority = String(rest[..<slash])
        guard !authority.contains("@") else {
            throw Invalid(description: "app URL must not carry credentials: the token goes in SUPABASE_SERVICE_ROLE_KEY")
        }
        let host = AppURL.host(of: authority)
        guard !host.isEmpty, AppURL.validPort(authority) else {
            throw Invalid(description: "app URL '\(trimmed)' has no valid host[:port]: write it as https://host[:port][/prefix] with a port from 1 to 65535")
        }
        var prefix = String(rest[slash...])
        while prefix.hasSuffix("/") { prefix.removeLast() }
        if scheme == "http" && !allowInsecureHTTP && !AppURL.isLoopback(host) {
            throw Invalid(description: "app URL uses plain http to \(host), which would send the token in clear: use https, or pass --allow-insecure-http")
        }
        self.scheme = scheme
        self.authority = authority
        self.host = host
        self.pathPrefix = prefix
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
