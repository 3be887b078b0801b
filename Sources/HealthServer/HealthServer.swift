#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CMicroHTTPD

/// /metrics and /healthz over libmicrohttpd, served from the library's own thread so a stuck
/// loop still gets its 503. libmicrohttpd is opened (dlopen) only when a server is made; the
/// socket is bound here first, so a taken port is reported with the system's reason.
public final class HealthServer: @unchecked Sendable {
    /// Where it listens, with the port the system chose when 0 was asked for.
    public let address: HTTPAddress
    private var daemon: OpaquePointer?
    private let routes: Unmanaged<RouteBox>

    public init(address: HTTPAddress, routes: HealthRoutes) throws(HealthServerError) {
        if let problem = pj_mhd_load() {
            throw HealthServerError("--http needs libmicrohttpd (\(String(cString: problem))): install it, e.g. apt-get install libmicrohttpd12")
        }
        let (descriptor, port) = try HealthServer.openSocket(on: address)
        self.address = HTTPAddress(host: address.host, port: port)
        self.routes = Unmanaged.passRetained(RouteBox(routes))
        guard let started = pj_mhd_start(descriptor, answer, self.routes.toOpaque()) else {
            // Not closed here: some libmicrohttpd versions close a given socket when start
            // fails, and a second close could hit a descriptor another thread just opened.
            // The caller exits (78) on this error, which closes it in any case.
            self.routes.release()
            throw HealthServerError("--http \(address): libmicrohttpd could not start its server thread")
        }
        daemon = started  // from here on it owns the socket and closes it when stopped
    }

    /// Stops serving: open connections are closed and the server thread is joined.
    public func stop() {
        guard let daemon else { return }
        self.daemon = nil
        pj_mhd_stop(daemon)
        routes.release()
    }

    deinit { stop() }

    /// A listening TCP socket on `address`: its descriptor and port.
    private static func openSocket(on address: HTTPAddress) throws(HealthServerError) -> (Int32, UInt16) {
        let family = address.isIPv6 ? AF_INET6 : AF_INET
        let descriptor = socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw failure("cannot open a socket", address) }
        var yes: Int32 = 1
        // A restart must not wait out TIME_WAIT of the last run's connections.
        setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var storage = sockaddr_storage()
        var length: socklen_t
        if address.isIPv6 {
            var ipv6 = sockaddr_in6()
            ipv6.sin6_family = sa_family_t(AF_INET6)
            ipv6.sin6_port = address.port.bigEndian
            inet_pton(AF_INET6, address.host, &ipv6.sin6_addr)
            length = socklen_t(MemoryLayout<sockaddr_in6>.size)
            withUnsafeBytes(of: ipv6) { bytes in withUnsafeMutableBytes(of: &storage) { $0.copyMemory(from: bytes) } }
        } else {
            var ipv4 = sockaddr_in()
            ipv4.sin_family = sa_family_t(AF_INET)
            ipv4.sin_port = address.port.bigEndian
            inet_pton(AF_INET, address.host, &ipv4.sin_addr)
            length = socklen_t(MemoryLayout<sockaddr_in>.size)
            withUnsafeBytes(of: ipv4) { bytes in withUnsafeMutableBytes(of: &storage) { $0.copyMemory(from: bytes) } }
        }
        let bound = withUnsafePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) }
        }
        guard bound == 0, listen(descriptor, 16) == 0 else {
            let error = failure("cannot listen", address)
            close(descriptor)
            throw error
        }
        length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        let port = withUnsafeBytes(of: storage) { bytes in
            // sin_port and sin6_port sit at the same offset, right after the family.
            UInt16(bigEndian: bytes.load(fromByteOffset: 2, as: UInt16.self))
        }
        return (descriptor, port)
    }

    private static func failure(_ what: String, _ address: HTTPAddress) -> HealthServerError {
        HealthServerError("--http \(address): \(what): \(String(cString: strerror(errno)))")
    }
}

/// The routes, kept alive for the daemon's callbacks by an unmanaged reference.
private final class RouteBox {
    let routes: HealthRoutes

    init(_ routes: HealthRoutes) { self.routes = routes }
}

/// libmicrohttpd's access handler: one response per request, queued on the first call.
private let answer: MHD_AccessHandlerCallback = { context, connection, url, method, _, _, _, _ in
    guard let context, let connection else { return .NO }
    let routes = Unmanaged<RouteBox>.fromOpaque(context).takeUnretainedValue().routes
    let response = routes.respond(method: method.map { String(cString: $0) } ?? "",
                                  path: url.map { String(cString: $0) } ?? "")
    let body = Array(response.body.utf8)
    return body.withUnsafeBufferPointer { bytes in
        bytes.withMemoryRebound(to: CChar.self) {
            pj_mhd_respond(connection, UInt32(response.status), response.contentType, $0.baseAddress, $0.count)
        }
    }
}
