import Foundation
@testable import ProcessJobsCore
import XCTest

/// The notifier against a datagram socket bound here, as systemd binds $NOTIFY_SOCKET.
final class SystemdNotifierTests: XCTestCase {
    /// A bound datagram socket; `receive()` returns the next message or nil after a bounded wait.
    private final class Receiver {
        let descriptor: Int32

        init(sunPath: [UInt8]) throws {
            descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: sunPath) }
            let length = socklen_t(MemoryLayout<sa_family_t>.size + sunPath.count)
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) }
            }
            guard bound == 0 else { throw NSError(domain: "bind", code: Int(errno)) }
        }

        deinit { close(descriptor) }

        func receive() -> String? {
            var entry = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            guard poll(&entry, 1, 5000) == 1 else { return nil }
            var buffer = [UInt8](repeating: 0, count: 4096)
            let count = recv(descriptor, &buffer, buffer.count, 0)
            return count < 0 ? nil : String(decoding: buffer[..<count], as: UTF8.self)
        }
    }

    func testMessagesReachASocketPath() throws {
        let path = NSTemporaryDirectory() + "pj-notify-\(getpid())-\(Int.random(in: 0..<1_000_000))"
        defer { unlink(path) }
        let receiver = try Receiver(sunPath: Array(path.utf8) + [0])
        let notifier = SystemdNotifier(environment: ["NOTIFY_SOCKET": path])
        XCTAssertTrue(notifier.isActive)
        XCTAssertTrue(notifier.ready(status: "listening on process_jobs"))
        XCTAssertEqual(receiver.receive(), "READY=1\nSTATUS=listening on process_jobs")
        XCTAssertTrue(notifier.watchdog())
        XCTAssertEqual(receiver.receive(), "WATCHDOG=1")
        XCTAssertTrue(notifier.status("last minute: 12 sent\n3 failed"))
        XCTAssertEqual(receiver.receive(), "STATUS=last minute: 12 sent 3 failed", "a status stays on one line")
        XCTAssertTrue(notifier.stopping(status: "stopping"))
        XCTAssertEqual(receiver.receive(), "STOPPING=1\nSTATUS=stopping")
    }

    func testTheAbstractNamespace() throws {
        let name = "pj-notify-\(getpid())-\(Int.random(in: 0..<1_000_000))"
        let receiver = try Receiver(sunPath: [0] + Array(name.utf8))
        let notifier = SystemdNotifier(environment: ["NOTIFY_SOCKET": "@" + name])
        XCTAssertTrue(notifier.watchdog())
        XCTAssertEqual(receiver.receive(), "WATCHDOG=1")
    }

    func testWithoutASocketNothingIsSent() {
        for environment in [[:], ["NOTIFY_SOCKET": ""], ["NOTIFY_SOCKET": "relative/path"], ["NOTIFY_SOCKET": "@"],
                            ["NOTIFY_SOCKET": "/" + String(repeating: "x", count: 200)]] {
            let notifier = SystemdNotifier(environment: environment)
            XCTAssertFalse(notifier.isActive, "\(environment)")
            XCTAssertFalse(notifier.ready(status: "x"))
            XCTAssertFalse(notifier.watchdog())
        }
    }

    func testASocketNobodyListensOnIsNotAnError() {
        let notifier = SystemdNotifier(environment: ["NOTIFY_SOCKET": "/nonexistent/pj-notify"])
        XCTAssertTrue(notifier.isActive)
        XCTAssertFalse(notifier.watchdog(), "reported, not thrown")
    }

    func testTheWatchdogIntervalIsHalfOfWatchdogUsec() {
        let cases: [(environment: [String: String], interval: Double?)] = [
            (["WATCHDOG_USEC": "30000000"], 15),
            (["WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "4242"], 15),
            (["WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "1"], nil),
            (["WATCHDOG_USEC": "1"], 0.0000005),
            (["WATCHDOG_USEC": "0"], nil),
            (["WATCHDOG_USEC": "-5"], nil),
            (["WATCHDOG_USEC": "30s"], nil),
            ([:], nil),
        ]
        for (environment, interval) in cases {
            XCTAssertEqual(SystemdNotifier(environment: environment, pid: 4242).watchdogInterval, interval, "\(environment)")
        }
    }
}
