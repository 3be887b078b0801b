import Foundation
import Logging
import PostgresClient
@testable import ProcessJobsCore
import XCTest

/// The listener on a real server: notifications become events, probes of other listeners do not,
/// a lost session comes back with one log line per outage, and a transaction-mode PgBouncer
/// (Debian's, started here) is refused with the one-line configuration error.
final class ListenerTests: IntegrationTestCase {
    private let logs = LogLines()

    private func listener(_ conninfo: String, probeWait: Double = 2) -> Listener {
        let clock = MonotonicClock()
        let lines = logs
        return Listener(source: ListenDatabaseURL(conninfo: conninfo, source: "the main connection"), timeout: 10,
                        probeWait: probeWait, stop: nil, log: Logger(label: "test") { _ in CollectingLogHandler(lines: lines) },
                        now: { clock.now() }, random: { 0.5 })
    }

    /// Waits (poll() on the listener's socket, or until its reconnect time) for an event other than idle or down.
    private func nextEvent(_ listener: Listener, timeout: Double = 20) throws -> Listener.Event {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let descriptor = listener.descriptor {
                var entry = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
                _ = poll(&entry, 1, 200)
            } else if let at = listener.reconnectAt {
                let left = at - MonotonicClock().now()
                if left > 0 { usleep(UInt32(min(left, 0.2) * 1_000_000)) }
            }
            let event = try listener.service()
            if event != .idle && event != .down { return event }
        }
        XCTFail("no event within \(timeout)s")
        return .idle
    }

    func testNotificationsOnTheChannelBecomeEvents() throws {
        let listener = listener(databaseURL)
        try listener.start()
        XCTAssertEqual(try listener.service(), .idle)
        try db.query("SELECT pg_notify('process_jobs', '')")
        XCTAssertEqual(try nextEvent(listener), .notified(dueNow: 1, later: 0))
        try db.query("INSERT INTO job_queue (job_type, payload, run_at) VALUES ('generate-image', '{}', now() + interval '1 hour')")
        XCTAssertEqual(try nextEvent(listener), .notified(dueNow: 0, later: 1), "a job due later: the probe learns when")
    }

    func testAnotherListenersProbeIsNotAJob() throws {
        let first = listener(databaseURL)
        try first.start()
        try listener(databaseURL).start()
        try db.query("SELECT pg_notify('process_jobs', 'job')")
        XCTAssertEqual(try nextEvent(first), .notified(dueNow: 1, later: 0), "the job's notification counts, the second listener's probe does not")
    }

    func testATerminatedSessionReconnectsWithOneLineAndHearsAgain() throws {
        let listener = listener(databaseURL)
        try listener.start()
        try db.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'process-jobs listen'")
        XCTAssertEqual(try nextEvent(listener), .connected, "back, and says so: what became due meanwhile is claimed")
        XCTAssertEqual(logs.lines.filter { $0.hasPrefix("warning") }.count, 1, "\(logs.lines)")
        XCTAssertEqual(logs.lines.filter { $0.hasPrefix("notice") && $0.contains("listening again") }.count, 1, "\(logs.lines)")
        try db.query("SELECT pg_notify('process_jobs', '')")
        XCTAssertEqual(try nextEvent(listener), .notified(dueNow: 1, later: 0))
    }

    func testADatabaseRestartIsOneOutageLoggedOnce() throws {
        let listener = listener(databaseURL)
        try listener.start()
        try PostgresServer.shared.restart()
        XCTAssertEqual(try nextEvent(listener, timeout: 60), .connected)
        XCTAssertEqual(logs.lines.filter { $0.hasPrefix("warning") }.count, 1, "one line per outage, not per try: \(logs.lines)")
        db = try Connection(conninfo: databaseURL)
        try db.query("SELECT pg_notify('process_jobs', '')")
        XCTAssertEqual(try nextEvent(listener), .notified(dueNow: 1, later: 0))
    }

    func testATransactionModePgBouncerWithOtherClientsActiveIsRefused() throws {
        let bouncer = try PgBouncer(serverURL: databaseURL)
        defer { bouncer.stop() }
        let pooled = bouncer.url(database: databaseName)
        let others = OtherClients(conninfo: pooled, count: 3)
        defer { others.stop() }
        awaitCondition("other clients are busy through the pooler") { others.statements >= 30 }

        let started = Date()
        XCTAssertThrowsError(try listener(pooled).start()) { error in
            guard case .configuration(let text) = error as? ConfigError else { return XCTFail("exit 78 expected, got \(error)") }
            XCTAssertTrue(text.contains("did not come back within 2s"), "PgBouncer takes the LISTEN; the probe is what fails: \(text)")
            XCTAssertTrue(text.contains("use the direct or session-mode connection for --listen"), text)
            XCTAssertTrue(text.contains("--listen-database-url"), text)
            XCTAssertFalse(text.contains("\n"))
        }
        XCTAssertLessThan(Date().timeIntervalSince(started), 8, "bounded by the probe's wait")
        XCTAssertNil(others.failure, "the other clients kept working")
    }

    func testALoneClientThroughTheTransactionPoolerIsRefusedToo() throws {
        // Alone, the pooler hands every statement the same server connection: a NOTIFY sent on
        // the listening connection itself would come back. The probe's own connection does not.
        let bouncer = try PgBouncer(serverURL: databaseURL)
        defer { bouncer.stop() }
        XCTAssertThrowsError(try listener(bouncer.url(database: databaseName)).start()) { error in
            XCTAssertNotNil(error as? ConfigError, "\(error)")
        }
    }

    func testListeningDirectlyWorksWhileClaimsGoThroughThePooler() throws {
        let bouncer = try PgBouncer(serverURL: databaseURL)
        defer { bouncer.stop() }
        let source = try ListenDatabaseURL.resolve(flag: nil, environment: [ListenDatabaseURL.environmentName: databaseURL],
                                                   main: bouncer.url(database: databaseName))
        let listener = listener(try XCTUnwrap(source.conninfo))
        try listener.start()
        let claims = try Connection(conninfo: bouncer.url(database: databaseName))
        try claims.query("SELECT pg_notify('process_jobs', '')")
        XCTAssertEqual(try nextEvent(listener), .notified(dueNow: 1, later: 0), "a NOTIFY that went through the pooler reaches the direct listener")
    }
}

/// Log lines as "level message", for counting.
final class LogLines: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: [String] = []
    var lines: [String] { lock.withLock { stored } }
    func append(_ line: String) { lock.withLock { stored.append(line) } }
}

struct CollectingLogHandler: LogHandler {
    let lines: LogLines
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(level: Logger.Level, message: Logger.Message, metadata: Logger.Metadata?, source: String,
             file: String, function: String, line: UInt) {
        lines.append("\(level) \(message)")
    }
}

/// Clients keeping a pooler busy: each runs short statements in a loop on its own thread.
final class OtherClients: @unchecked Sendable {
    private let lock = NSLock()
    private var running = true
    private var count = 0
    private var error: String?
    private let group = DispatchGroup()

    init(conninfo: String, count clients: Int) {
        for _ in 0..<clients {
            group.enter()
            Thread.detachNewThread { [self] in
                defer { group.leave() }
                do {
                    let connection = try Connection(conninfo: conninfo)
                    while lock.withLock({ running }) {
                        try connection.query("SELECT pg_sleep(0.005)")
                        lock.withLock { count += 1 }
                    }
                } catch {
                    lock.withLock { self.error = "\(error)" }
                }
            }
        }
    }

    var statements: Int { lock.withLock { count } }
    var failure: String? { lock.withLock { error } }

    func stop() {
        lock.withLock { running = false }
        group.wait()
    }
}
