import Foundation
import PostgresClient
@testable import ProcessJobsCore
import XCTest

/// `run --listen` end to end: the real binary, a real PostgreSQL with the migration's trigger,
/// the test app. Bounds here only fail when the mechanism is broken (a job found by the backstop
/// poll instead of the notification takes --poll-interval, 30 s).
final class ListenRunTests: IntegrationTestCase {
    func testAJobInsertedWhileTheListenerIdlesIsPostedWithinASecond() throws {
        let app = try startApp()
        let listener = try startListener(app: app, ["--poll-interval", "30s"])
        for _ in 0..<3 {
            let inserted = Date().timeIntervalSince1970
            let id = try db.insertJob("generate-image")
            awaitCondition("the job was POSTed", timeout: 10) { (try? app.requests(forJob: id).isEmpty) == false }
            let arrived = try XCTUnwrap(app.requests(forJob: id).first).time
            XCTAssertLessThan(arrived - inserted, 1, "POSTed on the notification, not the 30 s poll")
            awaitCondition("completed") { (try? db.job(id).status) == "completed" }
        }
        XCTAssertTrue(listener.isRunning, listener.stderr)
    }

    func testAJobDueInTwoSecondsIsSentAfterItIsDueAndBeforeTheNextPoll() throws {
        let app = try startApp()
        let listener = try startListener(app: app, ["--poll-interval", "30s"])
        let id = try XCTUnwrap(db.query("""
            INSERT INTO job_queue (job_type, payload, user_id, run_at)
            VALUES ('generate-image', '{"projectId":"p1"}', 'u', now() + interval '2 seconds')
            RETURNING id, extract(epoch FROM run_at)
            """).values.first)
        let runAt = try XCTUnwrap(Double(id[1] ?? ""))
        awaitCondition("the job was POSTed", timeout: 20) { (try? app.requests(forJob: id[0]!).isEmpty) == false }
        let arrived = try XCTUnwrap(app.requests(forJob: id[0]!).first).time
        XCTAssertGreaterThanOrEqual(arrived, runAt, "not before its run_at")
        XCTAssertLessThan(arrived - runAt, 1, "at its run_at (the probe's next due time), long before the 30 s poll")
        XCTAssertTrue(listener.isRunning, listener.stderr)
    }

    func testABurstANotificationStartedClaimsWithoutTheProbe() throws {
        let app = try startApp()
        let waiting = try db.insertJob("generate-image")
        // Listening on a URL of its own, the listener does not prepare its tick (its claims may go
        // through a pooler), so each burst's round trips are the statements it sends.
        let listener = try startListener(app: app, ["--poll-interval", "30s", "--log-level", "debug"],
                                         environment: ["PROCESS_JOBS_LISTEN_DATABASE_URL": databaseURL])
        awaitCondition("the job waiting at start completed") { (try? db.job(waiting).status) == "completed" }
        // Idle again: the probe after that burst was the main connection's last statement.
        awaitCondition("the listener probed and sleeps") {
            (try? db.query("""
                SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'process-jobs'
                   AND state = 'idle' AND query LIKE 'SELECT EXISTS%'
                """).values[0][0]) == "1"
        }
        let notified = try db.insertJob("generate-image")
        awaitCondition("the notified job completed") { (try? db.job(notified).status) == "completed" }
        awaitCondition("both bursts logged") { Self.burstRoundTrips(listener.stderr).count == 2 }
        let trips = Self.burstRoundTrips(listener.stderr)
        XCTAssertEqual(trips[1], trips[0] - 1, "the same work (claim, send, record), one round trip fewer: no probe before the claim")
        XCTAssertTrue(listener.isRunning, listener.stderr)
    }

    /// round_trips of each "burst done" line (debug) in the listener's JSON log.
    static func burstRoundTrips(_ log: String) -> [Int] {
        log.split(separator: "\n").compactMap { line in
            guard line.contains("\"msg\":\"burst done\""),
                  let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { return nil }
            return (object["round_trips"] as? Int) ?? (object["round_trips"] as? String).flatMap { Int($0) }
        }
    }

    func testSIGTERMExitsZeroWithinTheGraceWithNothingLeased() throws {
        let app = try startApp(arguments: ["--delay-ms", "1500"])
        let listener = try startListener(app: app, ["--grace", "10s", "--concurrency", "4"])
        try db.insertJobs("generate-image", count: 12)
        awaitCondition("requests in flight") { (try? app.requests().count) ?? 0 >= 4 }
        let signalled = Date()
        listener.signal(SIGTERM)
        let status = listener.wait(timeout: 15)
        XCTAssertEqual(status, 0, listener.stderr)
        XCTAssertLessThan(Date().timeIntervalSince(signalled), 10, "within the grace period")
        XCTAssertEqual(try db.count(where: "status = 'processing'"), 0, "nothing left leased")
        XCTAssertEqual(try db.count(where: "status = 'completed'"), 4, "the requests in flight finished")
    }

    func testTwoListenersOnOneQueueSendEveryJobOnce() throws {
        let app = try startApp(arguments: ["--delay-ms", "5-20"])
        let first = try startListener(app: app, ["--concurrency", "8"])
        let second = try startListener(app: app, ["--concurrency", "8"])
        for _ in 0..<20 {
            try db.insertJobs("generate-image", count: 10)
            usleep(20_000)  // spread the inserts: each one is a notification both listeners race for
        }
        awaitCondition("all 200 completed", timeout: 60) { (try? db.count(where: "status = 'completed'")) == 200 }
        let requests = try app.requests()
        XCTAssertEqual(requests.count, 200, "every job sent once")
        XCTAssertEqual(Set(requests.compactMap(\.jobId)).count, 200)
        XCTAssertTrue(first.isRunning && second.isRunning)
        for child in [first, second] {
            child.signal(SIGTERM)
            XCTAssertEqual(child.wait(timeout: 30), 0, child.stderr)
        }
    }

    func testSystemdHearsReadyWatchdogAndStatus() throws {
        let path = NSTemporaryDirectory() + "pj-notify-\(UUID().uuidString.prefix(8))"
        let socket = try NotifySocket(path: path)
        let app = try startApp()
        // WatchdogSec=2s: WATCHDOG=1 every second.
        let listener = try startListener(app: app, environment: ["NOTIFY_SOCKET": path, "WATCHDOG_USEC": "2000000"])
        var messages: [String] = []
        awaitCondition("READY=1, a STATUS= and two WATCHDOG=1", timeout: 10) {
            messages += socket.receive()
            return messages.contains { $0.hasPrefix("READY=1") } && messages.filter { $0 == "WATCHDOG=1" }.count >= 2
                && messages.contains { $0.hasPrefix("STATUS=listening; last minute:") }
        }
        let id = try db.insertJob("generate-image")
        awaitCondition("completed") { (try? db.job(id).status) == "completed" }
        awaitCondition("STATUS= counts the job", timeout: 10) {
            messages += socket.receive()
            return messages.contains { $0.hasPrefix("STATUS=listening; last minute: 1 claimed, 1 completed") }
        }
        listener.signal(SIGTERM)
        XCTAssertEqual(listener.wait(timeout: 10), 0, listener.stderr)
        messages += socket.receive()
        XCTAssertTrue(messages.last?.hasPrefix("STOPPING=1") == true, "\(messages.suffix(3))")
    }

    /// CPU seconds the process has used (utime + stime from /proc).
    private func cpuSeconds(_ child: Child) throws -> Double {
        let stat = try String(contentsOfFile: "/proc/\(child.process.processIdentifier)/stat", encoding: .utf8)
        let fields = stat[stat.range(of: ")")!.upperBound...].split(separator: " ")
        return (Double(fields[11])! + Double(fields[12])!) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// Idle with every timer on (poll, metrics, watchdog, health server), the listener sleeps:
    /// a loop that spun would use the whole window.
    func testAnIdleListenerSleeps() throws {
        let path = NSTemporaryDirectory() + "pj-notify-\(UUID().uuidString.prefix(8))"
        let socket = try NotifySocket(path: path)
        let app = try startApp()
        let listener = try startListener(app: app, ["--poll-interval", "1s", "--metrics-interval", "1s",
                                                    "--http", "127.0.0.1:\(Fault.freePort())",
                                                    "--metrics-file", NSTemporaryDirectory() + "pj-listen-\(UUID()).prom"],
                                         environment: ["NOTIFY_SOCKET": path, "WATCHDOG_USEC": "1000000"])
        let before = try cpuSeconds(listener)
        usleep(3_000_000)  // the measurement window itself
        let used = try cpuSeconds(listener) - before
        XCTAssertLessThan(used, 0.3, "an idle listener used \(used) s of CPU in 3 s")
        XCTAssertGreaterThanOrEqual(socket.receive().filter { $0 == "WATCHDOG=1" }.count, 4, "the watchdog kept coming")
        XCTAssertTrue(listener.isRunning)
    }

    /// Due jobs of a route paused until resumed: the probe sees work the claim may not take.
    /// The listener must not turn that into a loop of bursts; once resumed (which notifies
    /// nobody), the jobs go by the next --poll-interval.
    func testDueJobsOfAPausedRouteDoNotMakeTheListenerSpin() throws {
        let app = try startApp()
        XCTAssertEqual(try runBinary(["pause", "generate-image"], environment: ["DATABASE_URL": databaseURL]).status, 0)
        let id = try db.insertJob("generate-image")
        let listener = try startListener(app: app, ["--poll-interval", "2s"])
        let before = try cpuSeconds(listener)
        usleep(3_000_000)  // the measurement window itself
        let used = try cpuSeconds(listener) - before
        XCTAssertLessThan(used, 0.3, "a listener with a paused route's jobs due used \(used) s of CPU in 3 s")
        XCTAssertEqual(try app.requests().count, 0)
        XCTAssertEqual(try runBinary(["resume", "generate-image"], environment: ["DATABASE_URL": databaseURL]).status, 0)
        awaitCondition("sent once resumed", timeout: 10) { (try? db.job(id).status) == "completed" }
    }

    func testOnceOrEveryWithListenIsAUsageError() throws {
        for extra in [["--once"], ["--every", "1s"]] {
            let result = try runBinary(["run", "--listen"] + extra, environment: ["DATABASE_URL": databaseURL,
                                                                                 "SUPABASE_SERVICE_ROLE_KEY": "k"])
            XCTAssertEqual(result.status, 64, result.stderr)
            XCTAssertTrue(result.stderr.contains("--listen"), result.stderr)
        }
    }
}

extension IntegrationTestCase {
    /// Starts a listener and waits until it says it is listening. An empty value in
    /// `extraEnvironment` unsets the variable.
    func startListener(app: TestApp, _ extra: [String] = [], environment extraEnvironment: [String: String] = [:]) throws -> Child {
        var env = environment(app: app)
        env.merge(extraEnvironment) { $1 }
        env = env.filter { !$0.value.isEmpty }
        let child = try startBinary(["run", "--listen", "--log-format", "json"] + extra, environment: env)
        addTeardownBlock {
            if child.isRunning { child.signal(SIGKILL) }
            _ = child.wait(timeout: 10)
            child.cleanUp()
        }
        awaitCondition("the listener is listening", timeout: 30) {
            child.stderr.contains("\"msg\":\"listening\"") || !child.isRunning
        }
        XCTAssertTrue(child.isRunning, child.stderr)
        return child
    }
}

/// A datagram socket standing in for systemd's $NOTIFY_SOCKET.
final class NotifySocket {
    private let descriptor: Int32
    private let path: String

    init(path: String) throws {
        self.path = path
        descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8) + [0]) }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0 else { throw TestAppError(message: "bind \(path): errno \(errno)") }
    }

    deinit {
        close(descriptor)
        unlink(path)
    }

    /// Every message waiting, without blocking.
    func receive() -> [String] {
        var messages: [String] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = recv(descriptor, &buffer, buffer.count, Int32(MSG_DONTWAIT))
            guard count > 0 else { return messages }
            messages.append(String(decoding: buffer[0..<count], as: UTF8.self))
        }
    }
}
