import Foundation
import PostgresClient
@testable import ProcessJobsCore
import XCTest

/// `run --listen` through faults: the database restarting, the listening connection killed,
/// a transaction-mode pooler in front, a key rotated with SIGHUP, a loop that stops turning.
final class ListenFaultTests: IntegrationTestCase {
    private func listenConnections() throws -> Int {
        Int(try db.query("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'process-jobs listen'").values[0][0] ?? "") ?? -1
    }

    func testDatabaseRestartWhileListeningIsNotAnExit() throws {
        guard PostgresServer.shared.restartableDirectory != nil else {
            throw XCTSkip("restarting PostgreSQL needs a server this run owns: run scripts/test")
        }
        let app = try startApp()
        let listener = try startListener(app: app, ["--poll-interval", "30s"])
        try PostgresServer.shared.restart()
        db = try Connection(conninfo: databaseURL)
        awaitCondition("listening again", timeout: 30) { listener.stderr.contains("listening again") || !listener.isRunning }
        XCTAssertTrue(listener.isRunning, listener.stderr)
        let inserted = Date().timeIntervalSince1970
        let id = try db.insertJob("generate-image")
        awaitCondition("the job inserted after the restart was sent", timeout: 10) { (try? app.requests(forJob: id).isEmpty) == false }
        XCTAssertLessThan(try XCTUnwrap(app.requests(forJob: id).first).time - inserted, 5, "not left to the 30 s poll")
        awaitCondition("completed") { (try? db.job(id).status) == "completed" }
        let lost = listener.stderr.components(separatedBy: "listen connection lost").count - 1
        XCTAssertEqual(lost, 1, "one line per outage: \(listener.stderr)")
    }

    func testARestartWithRequestsInFlightWritesTheirOutcomesAfterTheReconnect() throws {
        guard PostgresServer.shared.restartableDirectory != nil else {
            throw XCTSkip("restarting PostgreSQL needs a server this run owns: run scripts/test")
        }
        let app = try startApp(arguments: ["--delay-ms", "2500"])
        let listener = try startListener(app: app, ["--concurrency", "6", "--poll-interval", "30s"])
        try db.insertJobs("generate-image", count: 6)
        awaitCondition("six requests in flight") { (try? app.requests().count) == 6 }
        try PostgresServer.shared.restart()
        db = try Connection(conninfo: databaseURL)
        awaitCondition("all six completed", timeout: 60) { (try? db.count(where: "status = 'completed'")) == 6 }
        XCTAssertEqual(try app.requests().count, 6, "each job sent once: its outcome waited for the database")
        XCTAssertEqual(try db.count(where: "retry_count = 0"), 6, "no attempt lost to the restart")
        XCTAssertTrue(listener.isRunning, listener.stderr)
        XCTAssertTrue(listener.stderr.contains("writing the outcomes that waited"), listener.stderr)
    }

    func testTerminatingTheListeningConnectionIsNotAnExit() throws {
        let app = try startApp()
        let listener = try startListener(app: app, ["--poll-interval", "30s"])
        let killed = try db.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'process-jobs listen'").values
        XCTAssertEqual(killed.count, 1)
        awaitCondition("listening again", timeout: 30) { listener.stderr.contains("listening again") || !listener.isRunning }
        XCTAssertTrue(listener.isRunning, listener.stderr)
        let inserted = Date().timeIntervalSince1970
        let id = try db.insertJob("generate-image")
        awaitCondition("the job was sent", timeout: 10) { (try? app.requests(forJob: id).isEmpty) == false }
        XCTAssertLessThan(try XCTUnwrap(app.requests(forJob: id).first).time - inserted, 1)
        XCTAssertEqual(try listenConnections(), 1)
    }

    func testTheAppDownOpensTheCircuitInsteadOfExiting() throws {
        let app = try startApp()
        let listener = try startListener(app: app, ["--poll-interval", "1s"],
                                         environment: ["APP_URL": "http://127.0.0.1:\(Fault.freePort())"])
        try db.insertJobs("generate-image", count: 4)
        awaitCondition("the circuit opened", timeout: 20) { listener.stderr.contains("the app is unreachable") || !listener.isRunning }
        XCTAssertTrue(listener.isRunning, listener.stderr)
        awaitCondition("the jobs released uncharged") {
            (try? db.count(where: "status = 'pending' AND coalesce(retry_count, 0) = 0")) == 4
        }
        usleep(1_500_000)  // more than a poll interval with the circuit open: no claim may go out
        XCTAssertEqual(listener.stderr.components(separatedBy: "the app is unreachable").count - 1, 1, "no claims while the circuit is open")
        XCTAssertTrue(listener.isRunning)
    }

    func testATransactionModePoolerInFrontExits78WithTheWayOut() throws {
        let bouncer = try PgBouncer(serverURL: databaseURL)
        defer { bouncer.stop() }
        // Other clients active through the pooler, so its server connections are shared.
        let others = try (0..<3).map { _ in try Connection(conninfo: bouncer.url(database: databaseName)) }
        for other in others { try other.query("SELECT count(*) FROM job_queue") }
        let app = try startApp()
        var env = environment(app: app)
        env["DATABASE_URL"] = bouncer.url(database: databaseName)
        let result = try runBinary(["run", "--listen"], environment: env, timeout: 60)
        XCTAssertEqual(result.status, 78, result.stderr)
        let line = result.stderr.split(separator: "\n").last.map(String.init) ?? ""
        XCTAssertTrue(line.contains("--listen needs a session connection"), line)
        XCTAssertTrue(line.contains("--listen-database-url"), line)
        XCTAssertEqual(try app.requests().count, 0)
    }

    func testAListenDatabaseURLDirectWithClaimsThroughThePooler() throws {
        let bouncer = try PgBouncer(serverURL: databaseURL)
        defer { bouncer.stop() }
        let app = try startApp()
        let listener = try startListener(app: app, ["--poll-interval", "30s"],
                                         environment: ["DATABASE_URL": bouncer.url(database: databaseName),
                                                       "PROCESS_JOBS_LISTEN_DATABASE_URL": databaseURL])
        XCTAssertTrue(listener.stderr.contains("PROCESS_JOBS_LISTEN_DATABASE_URL"), listener.stderr)
        for _ in 0..<3 {
            let inserted = Date().timeIntervalSince1970
            let id = try db.insertJob("generate-image")
            awaitCondition("the job was sent", timeout: 10) { (try? app.requests(forJob: id).isEmpty) == false }
            XCTAssertLessThan(try XCTUnwrap(app.requests(forJob: id).first).time - inserted, 1)
            awaitCondition("completed through the pooler") { (try? db.job(id).status) == "completed" }
        }
    }

    func testSIGHUPAfterTheTokenFileChangedSendsTheNewToken() throws {
        let app = try startApp(token: "old-key")
        let path = NSTemporaryDirectory() + "pj-listen-token-\(UUID().uuidString)"
        try "old-key\n".write(toFile: path, atomically: true, encoding: .utf8)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
        let listener = try startListener(app: app, ["--token-file", path], environment: ["SUPABASE_SERVICE_ROLE_KEY": ""])
        let first = try db.insertJob("generate-image")
        awaitCondition("sent with the old key") { (try? db.job(first).status) == "completed" }
        XCTAssertEqual(try app.requests(forJob: first).first?.headers["authorization"], "Bearer old-key")

        try "new-key\n".write(toFile: path, atomically: true, encoding: .utf8)
        try app.configure(#"{"token": "new-key"}"#)
        listener.signal(SIGHUP)
        awaitCondition("the reload logged") { listener.stderr.contains("SIGHUP: token re-read") }
        let second = try db.insertJob("generate-image")
        awaitCondition("sent with the new key", timeout: 10) { (try? db.job(second).status) == "completed" || !listener.isRunning }
        XCTAssertEqual(try app.requests(forJob: second).first?.headers["authorization"], "Bearer new-key")
        XCTAssertFalse(listener.stderr.contains("new-key") || listener.stderr.contains("old-key"), "no key in the log")
        listener.signal(SIGTERM)
        XCTAssertEqual(listener.wait(timeout: 10), 0, listener.stderr)
    }

    /// Status and body of a GET with curl; nil when nothing answered within `seconds`.
    private func get(_ url: String, seconds: Int = 10) throws -> (status: Int, body: String)? {
        let result = try shell("/usr/bin/curl", ["-sS", "--max-time", String(seconds), "-o", "-", "-w", "\n%{http_code}", url],
                               timeout: Double(seconds) + 10)
        guard result.status == 0, let split = result.stdout.range(of: "\n", options: .backwards) else { return nil }
        return (Int(result.stdout[split.upperBound...]) ?? -1, String(result.stdout[..<split.lowerBound]))
    }

    func testHealthzTurns503WhenTheLoopStopsAndMetricsParse() throws {
        let app = try startApp()
        let port = Fault.freePort()
        let base = "http://127.0.0.1:\(port)"
        let listener = try startListener(app: app, ["--poll-interval", "1s", "--metrics-interval", "1s", "--http", "127.0.0.1:\(port)"])
        let id = try db.insertJob("generate-image")
        awaitCondition("completed") { (try? db.job(id).status) == "completed" }
        XCTAssertEqual(try get(base + "/healthz")?.status, 200)
        var metrics: PrometheusExposition?
        awaitCondition("/metrics counts the job", timeout: 20) {
            metrics = (try? get(base + "/metrics")).flatMap { $0 }.flatMap { try? PrometheusExposition($0.body) }
            return metrics?.value("process_jobs_last_run_claimed_jobs") == 1
        }
        XCTAssertGreaterThan(metrics?.value("process_jobs_last_successful_claim_timestamp_seconds") ?? 0, Date().timeIntervalSince1970 - 60)
        XCTAssertNotNil(metrics?.value("process_jobs_queue_jobs", ["type": "generate-image", "status": "completed"]))

        // Stopped (SIGSTOP), the process answers nothing: a probe with a timeout fails.
        listener.signal(SIGSTOP)
        usleep(2_500_000)  // two poll intervals and a half must pass with the loop stopped: that is what is tested
        XCTAssertNil(try get(base + "/healthz", seconds: 1), "a stopped process gives no 200")
        listener.signal(SIGCONT)
        awaitCondition("healthy again after SIGCONT", timeout: 10) { (try? get(base + "/healthz"))??.status == 200 }

        // A loop stuck in a statement (the table locked) while the server thread runs: 503.
        try db.query("BEGIN")
        try db.query("LOCK TABLE job_queue IN ACCESS EXCLUSIVE MODE")
        awaitCondition("503 once the loop has not turned for two poll intervals", timeout: 10) {
            (try? get(base + "/healthz"))??.status == 503
        }
        let body = try XCTUnwrap(try get(base + "/healthz")).body
        XCTAssertTrue(body.hasPrefix("unhealthy"), body)
        try db.query("COMMIT")
        awaitCondition("healthy once the loop turns again", timeout: 10) { (try? get(base + "/healthz"))??.status == 200 }
        XCTAssertTrue(listener.isRunning, listener.stderr)
    }
}
