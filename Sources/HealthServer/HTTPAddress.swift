#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where --http listens: ADDR:PORT with a numeric address, IPv4 ("127.0.0.1:9090",
/// "0.0.0.0:9090") or IPv6 in brackets ("[::1]:9090"). Port 0 takes any free port. Names are
/// not resolved: a listening address that depends on DNS would change under the process.
public struct HTTPAddress: Equatable, Sendable, CustomStringConvertible {
    /// The address without brackets.
    public let host: String
    public let port: UInt16

    public init(host: String, port: UInt16) {
        self.host = host
        self.port = port
    }

    public var isIPv6: Bool { host.contains(":") }

    public var description: String { isIPv6 ? "[\(host)]:\(port)" : "\(host):\(port)" }

    /// Parses ADDR:PORT; nil when it is not one (the caller says which flag).
    public static func parse(_ text: String) -> HTTPAddress? {
        guard let colon = text.lastIndex(of: ":") else { return nil }
        var host = String(text[..<colon])
        let portText = text[text.index(after: colon)...]
        guard !portText.isEmpty, portText.allSatisfy(\.isASCII), portText.allSatisfy(\.isNumber),
              let port = UInt16(portText) else { return nil }
        if host.hasPrefix("[") && host.hasSuffix("]") && host.count > 2 {
            host = String(host.dropFirst().dropLast())
            guard host.contains(":"), numeric(host, family: AF_INET6) else { return nil }
        } else {
            guard numeric(host, family: AF_INET) else { return nil }
        }
        return HTTPAddress(host: host, port: port)
    }

    private static func numeric(_ host: String, family: Int32) -> Bool {
        var buffer = [UInt8](repeating: 0, count: 16)
        return inet_pton(family, host, &buffer) == 1
    }
}
