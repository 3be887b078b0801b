#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// sd_notify for a Type=notify unit, without libsystemd: datagrams to $NOTIFY_SOCKET (a path,
/// or '@' for the abstract namespace). READY=1 once listening, WATCHDOG=1 from the loop at
/// `watchdogInterval`, STATUS= a line for `systemctl status`. Without $NOTIFY_SOCKET (not
/// under systemd) every call does nothing. Sends never block: a busy systemd must not stall
/// the loop, and the next WATCHDOG=1 follows soon anyway.
public final class SystemdNotifier {
    private let descriptor: Int32
    private var address = sockaddr_un()
    private var addressLength = socklen_t(0)
    /// How often to send WATCHDOG=1: half of $WATCHDOG_USEC, as sd_watchdog_enabled advises;
    /// nil when the unit has no WatchdogSec= (or the variable is meant for another process).
    public let watchdogInterval: Double?

    public init(environment: [String: String], pid: Int32 = getpid()) {
        watchdogInterval = SystemdNotifier.watchdogInterval(environment: environment, pid: pid)
        guard let path = environment["NOTIFY_SOCKET"], let bytes = SystemdNotifier.socketPath(path) else {
            descriptor = -1
            return
        }
        descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
        addressLength = socklen_t(MemoryLayout<sa_family_t>.size + bytes.count)
    }

    deinit { if descriptor >= 0 { close(descriptor) } }

    /// Whether messages go anywhere (NOTIFY_SOCKET was set and usable).
    public var isActive: Bool { descriptor >= 0 }

    /// READY=1 with a status line: start-up is done, systemd may start what depends on us.
    @discardableResult
    public func ready(status: String) -> Bool { send("READY=1\nSTATUS=" + SystemdNotifier.oneLine(status)) }

    /// WATCHDOG=1: the loop is turning.
    @discardableResult
    public func watchdog() -> Bool { send("WATCHDOG=1") }

    /// STATUS=: what `systemctl status` shows beside the unit.
    @discardableResult
    public func status(_ text: String) -> Bool { send("STATUS=" + SystemdNotifier.oneLine(text)) }

    /// STOPPING=1 with a status line: shutting down on purpose (SIGTERM), not hanging.
    @discardableResult
    public func stopping(status: String) -> Bool { send("STOPPING=1\nSTATUS=" + SystemdNotifier.oneLine(status)) }

    private func send(_ message: String) -> Bool {
        guard descriptor >= 0 else { return false }
        let bytes = Array(message.utf8)
        let sent = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { target in
                sendto(descriptor, bytes, bytes.count, Int32(MSG_DONTWAIT | MSG_NOSIGNAL), target, addressLength)
            }
        }
        return sent == bytes.count
    }

    /// The bytes of sun_path for $NOTIFY_SOCKET: an absolute path, or '@name' for the abstract
    /// namespace (a leading NUL, length counted exactly); nil for anything else or too long.
    static func socketPath(_ text: String) -> [UInt8]? {
        var bytes = Array(text.utf8)
        guard let first = bytes.first, first == UInt8(ascii: "/") || first == UInt8(ascii: "@"), bytes.count > 1,
              !bytes.contains(0) else { return nil }
        if first == UInt8(ascii: "@") {
            bytes[0] = 0
        } else {
            bytes.append(0)
        }
        return bytes.count <= MemoryLayout.size(ofValue: sockaddr_un().sun_path) ? bytes : nil
    }

    /// Half of $WATCHDOG_USEC when it is a positive number and $WATCHDOG_PID, if set, is `pid`.
    static func watchdogInterval(environment: [String: String], pid: Int32) -> Double? {
        if let owner = environment["WATCHDOG_PID"], Int32(owner) != pid { return nil }
        guard let text = environment["WATCHDOG_USEC"], let microseconds = UInt64(text), microseconds > 0 else { return nil }
        return Double(microseconds) / 2_000_000
    }

    /// Messages are newline-separated assignments: a status keeps to one line.
    static func oneLine(_ text: String) -> String {
        text.split(whereSeparator: \.isNewline).joined(separator: " ")
    }
}
