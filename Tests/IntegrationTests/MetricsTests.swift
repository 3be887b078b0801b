import Foundation
import PostgresClient
@testable import ProcessJobsCore
import XCTest

/// `run --metrics-file`: the file after real runs, read back with a strict parser (and promtool
/// when it is installed).
final class MetricsTests: IntegrationTestCase {
    private var directory = ""
    private var path: String { directory + "/process_jobs.prom" }

    override func setUpWithError() throws {
        try super.setUpWithError()
        directory = NSTemporaryDirectory() + "pj-metrics-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: directory)
        super.tearDown()
    }

    private func metrics() throws -> PrometheusExposition {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        return try PrometheusExposition(text)
    }

    func testRunWritesParseableMetricsWithTheRunsNumbers() throws {
        let app = try startApp()
        try db.insertJob("generate-image")
        try db.insertJob("generate-image")
        try db.insertJob("generate-image", payload: #"{"projectId":"boom"}"#)
        try db.insertJob("generate-aplus", payload: #"{"projectId":"missing"}"#)
        try db.insertJob("send-newsletter", payload: "{}")
        try db.query("INSERT INTO job_queue (job_type, payload, run_at) VALUES ('generate-aplus', '{}', now() + interval '1 hour')")
        let before = Date().timeIntervalSince1970
        let result = try runBinary(["run", "--metrics-file", path], environment: environment(app: app))
        XCTAssertEqual(result.status, 0, result.stderr)

        let text = try String(contentsOfFile: path, encoding: .utf8)
        let metrics = try PrometheusExposition(text)
        func jobs(_ type: String, _ outcome: String) -> Double? {
            metrics.value("process_jobs_last_run_jobs", ["type": type, "outcome": outcome])
        }
        XCTAssertEqual(jobs("generate-image", "completed"), 2)
        XCTAssertEqual(jobs("generate-image", "retried"), 1)
        XCTAssertEqual(jobs("generate-aplus", "failed"), 1)
        XCTAssertEqual(jobs("generate-complete-pack", "completed"), 0, "every routed type has its series")
        XCTAssertEqual(metrics.value("process_jobs_last_run_claimed_jobs"), 4)
        XCTAssertEqual(metrics.value("process_jobs_last_run_success"), 1)
        XCTAssertEqual(metrics.value("process_jobs_last_run_exit_code"), 0)
        XCTAssertEqual(metrics.value("process_jobs_last_run_stop_reason", ["reason": "drained"]), 1)
        let duration = try XCTUnwrap(metrics.value("process_jobs_last_run_duration_seconds"))
        XCTAssertGreaterThan(duration, 0)
        XCTAssertLessThan(duration, 60)
        let lastRun = try XCTUnwrap(metrics.value("process_jobs_last_run_timestamp_seconds"))
        XCTAssertGreaterThanOrEqual(lastRun, before - 1)
        XCTAssertLessThanOrEqual(lastRun, Date().timeIntervalSince1970 + 1)
        XCTAssertEqual(metrics.value("process_jobs_last_success_timestamp_seconds"), lastRun)
        XCTAssertEqual(metrics.value("process_jobs_last_claim_timestamp_seconds"), lastRun, "this run claimed jobs")
        XCTAssertEqual(metrics.value("process_jobs_last_run_route_paused", ["type": "generate-image"]), 0)
        XCTAssertEqual(metrics.value("process_jobs_last_run_route_paused", ["type": "generate-complete-pack"]), 0)

        // The queue as the run left it.
        XCTAssertEqual(metrics.value("process_jobs_queue_jobs", ["type": "generate-image", "status": "completed"]), 2)
        XCTAssertEqual(metrics.value("process_jobs_queue_jobs", ["type": "generate-image", "status": "pending"]), 1)
        XCTAssertEqual(metrics.value("process_jobs_queue_jobs", ["type": "generate-aplus", "status": "failed"]), 1)
        XCTAssertEqual(metrics.value("process_jobs_queue_jobs", ["type": "generate-aplus", "status": "pending"]), 1)
        XCTAssertEqual(metrics.value("process_jobs_queue_due_jobs", ["type": "generate-aplus"]), 0, "scheduled for later")
        XCTAssertEqual(metrics.value("process_jobs_queue_due_jobs", ["type": "send-newsletter"]), 1, "unrouted, still due")
        XCTAssertGreaterThan(try XCTUnwrap(metrics.value("process_jobs_queue_oldest_due_age_seconds", ["type": "send-newsletter"])), 0)
        XCTAssertEqual(metrics.value("process_jobs_queue_oldest_due_age_seconds", ["type": "generate-image"]), 0, "its retry is not due yet")
        XCTAssertEqual(metrics.value("process_jobs_queue_expired_leases", ["type": "generate-image"]), 0)

        for family in metrics.order {
            XCTAssertTrue(family.hasPrefix("process_jobs_"), family)
        }
        // No secret ever reaches the file.
        XCTAssertFalse(text.contains("test-token"))
        XCTAssertFalse(text.contains(databaseURL))
        XCTAssertFalse(text.contains("throwaway"), "no database password")
        XCTAssertFalse(text.contains("postgres"), "no connection details")
        // Atomic replacement leaves nothing behind, and the collector (another user) can read it.
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory), ["process_jobs.prom"])
        XCTAssertEqual(try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int, 0o644)
        try checkWithPromtool(text)
    }

    func testFailedRunCarriesTheLastSuccessForward() throws {
        let app = try startApp(token: "the-right-one")
        XCTAssertEqual(try runBinary(["run", "--metrics-file", path], environment: environment(app: app, token: "the-right-one")).status, 0)
        let success = try XCTUnwrap(try metrics().value("process_jobs_last_success_timestamp_seconds"))
        XCTAssertEqual(try metrics().value("process_jobs_last_claim_timestamp_seconds"), 0, "nothing was due: no claim known")

        try db.insertJob("generate-image")
        let rejected = try runBinary(["run", "--metrics-file", path], environment: environment(app: app, token: "wrong"))
        XCTAssertEqual(rejected.status, 77, rejected.stderr)
        var metrics = try metrics()
        XCTAssertEqual(metrics.value("process_jobs_last_run_success"), 0)
        XCTAssertEqual(metrics.value("process_jobs_last_run_exit_code"), 77)
        XCTAssertEqual(metrics.value("process_jobs_last_run_stop_reason", ["reason": "token-rejected"]), 1)
        XCTAssertEqual(metrics.value("process_jobs_last_run_jobs", ["type": "generate-image", "outcome": "released"]), 1)
        XCTAssertEqual(metrics.value("process_jobs_last_success_timestamp_seconds"), success, "carried from the previous file")
        let rejectedAt = try XCTUnwrap(metrics.value("process_jobs_last_run_timestamp_seconds"))
        XCTAssertGreaterThan(rejectedAt, success)
        XCTAssertEqual(metrics.value("process_jobs_last_claim_timestamp_seconds"), rejectedAt, "it claimed the job before the app refused it")
        XCTAssertFalse(try String(contentsOfFile: path, encoding: .utf8).contains("wrong"))

        // The database down: the run cannot start, and still says so in the file.
        var down = environment(app: app, token: "the-right-one")
        down["DATABASE_URL"] = "postgresql://postgres:secret-password@127.0.0.1:1/nothing?connect_timeout=2"
        let unavailable = try runBinary(["run", "--metrics-file", path], environment: down)
        XCTAssertEqual(unavailable.status, 75, unavailable.stderr)
        metrics = try self.metrics()
        XCTAssertEqual(metrics.value("process_jobs_last_run_exit_code"), 75)
        XCTAssertEqual(metrics.value("process_jobs_last_run_stop_reason", ["reason": "database-unavailable"]), 1)
        XCTAssertEqual(metrics.value("process_jobs_last_success_timestamp_seconds"), success)
        XCTAssertEqual(metrics.value("process_jobs_last_claim_timestamp_seconds"), rejectedAt, "carried from the previous file")
        XCTAssertNil(metrics.families["process_jobs_queue_jobs"], "no queue gauges without a database")
        let text = try String(contentsOfFile: path, encoding: .utf8)
        XCTAssertFalse(text.contains("secret-password"))
        try checkWithPromtool(text)
    }

    func testRouteThePausedAppSlowedDownIsMarked() throws {
        let app = try startApp()
        try db.insertJobs("generate-image", count: 3)
        try db.insertJob("generate-aplus", payload: #"{"projectId":"p"}"#)
        try app.setRules(#"[{"match": {"jobType": "generate-image"}, "times": 1, "action": {"status": 429, "headers": {"Retry-After": "60"}}}]"#)
        let result = try runBinary(["run", "--concurrency", "1", "--metrics-file", path], environment: environment(app: app))
        XCTAssertEqual(result.status, 0, result.stderr)
        let metrics = try metrics()
        XCTAssertEqual(metrics.value("process_jobs_last_run_route_paused", ["type": "generate-image"]), 1)
        XCTAssertEqual(metrics.value("process_jobs_last_run_route_paused", ["type": "generate-aplus"]), 0)
        XCTAssertEqual(metrics.value("process_jobs_last_run_jobs", ["type": "generate-aplus", "outcome": "completed"]), 1)

        // The next run, with the app calm again, says so.
        try db.insertJob("generate-aplus", payload: #"{"projectId":"p"}"#)
        XCTAssertEqual(try runBinary(["run", "--metrics-file", path], environment: environment(app: app)).status, 0)
        XCTAssertEqual(try self.metrics().value("process_jobs_last_run_route_paused", ["type": "generate-image"]), 0)
    }

    func testEveryRunOfRepeatModeRewritesTheFile() throws {
        let app = try startApp()
        let child = try startBinary(["run", "--every", "1s", "--for", "20s", "--metrics-file", path],
                                    environment: environment(app: app))
        defer { child.signal(SIGTERM); _ = child.wait(timeout: 30); child.cleanUp() }
        var seen = Set<Double>()
        awaitCondition("three runs' metrics", timeout: 20) {
            if let value = try? metrics().value("process_jobs_last_run_timestamp_seconds") { seen.insert(value) }
            return seen.count >= 3
        }
        // A job enqueued between runs shows up in the next run's numbers, and the claim time with it.
        try db.insertJob("generate-aplus", payload: #"{"projectId":"p"}"#)
        awaitCondition("the job in a run's metrics", timeout: 20) {
            (try? metrics().value("process_jobs_queue_jobs", ["type": "generate-aplus", "status": "completed"])) == 1
        }
        let claimedAt = try XCTUnwrap(try metrics().value("process_jobs_last_claim_timestamp_seconds"))
        XCTAssertGreaterThan(claimedAt, 0)
        // Later runs claim nothing and keep it, while their own timestamps move on.
        awaitCondition("a later run", timeout: 20) {
            ((try? metrics().value("process_jobs_last_run_timestamp_seconds")) ?? 0) > claimedAt
        }
        XCTAssertEqual(try metrics().value("process_jobs_last_claim_timestamp_seconds"), claimedAt)
        XCTAssertNoThrow(try checkWithPromtool(String(contentsOfFile: path, encoding: .utf8)))
    }

    func testUnwritablePathIsAUsageErrorBeforeAnythingRuns() throws {
        let app = try startApp()
        let id = try db.insertJob("generate-image")
        let result = try runBinary(["run", "--metrics-file", directory + "/missing/process_jobs.prom"], environment: environment(app: app))
        XCTAssertEqual(result.status, 64, result.stderr)
        XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, result.stderr)
        XCTAssertTrue(result.stderr.contains("does not exist"), result.stderr)
        XCTAssertEqual(try db.job(id).status, "pending", "nothing was claimed")
    }

    func testDryRunWritesNoMetrics() throws {
        let app = try startApp()
        XCTAssertEqual(try runBinary(["run", "--dry-run", "--metrics-file", path], environment: environment(app: app)).status, 0)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path))
    }

    /// `promtool check metrics` (Debian's prometheus package) when installed; the strict parser
    /// above runs regardless.
    private func checkWithPromtool(_ text: String, file: StaticString = #filePath, line: UInt = #line) throws {
        guard let promtool = ["/usr/bin/promtool", "/usr/local/bin/promtool"].first(where: FileManager.default.isExecutableFile) else { return }
        let result = try shell(promtool, ["check", "metrics"], stdin: text, timeout: 30)
        XCTAssertEqual(result.status, 0, "promtool: \(result.stdout) \(result.stderr)", file: file, line: line)
        XCTAssertEqual(result.stdout + result.stderr, "", "promtool has lint findings", file: file, line: line)
    }
}

/// The strict parser itself: it must reject what Prometheus rejects, or it proves nothing.
final class PrometheusParserTests: XCTestCase {
    private let valid = """
        # HELP a_seconds Help with \\\\ and \\n escapes.
        # TYPE a_seconds gauge
        a_seconds{type="x\\"y\\\\z\\nw",b="2"} 1.5
        a_seconds 2e3 1700000000000
        # HELP b_total Count.
        # TYPE b_total counter
        b_total +Inf

        """

    func testAcceptsValidText() throws {
        let parsed = try PrometheusExposition(valid)
        XCTAssertEqual(parsed.value("a_seconds", ["type": "x\"y\\z\nw", "b": "2"]), 1.5)
        XCTAssertEqual(parsed.value("a_seconds"), 2000)
        XCTAssertEqual(parsed.families["a_seconds"]?.help, "Help with \\ and \n escapes.")
        XCTAssertEqual(parsed.value("b_total"), .infinity)
    }

    func testRejectsInvalidText() {
        let header = "# HELP m h\n# TYPE m gauge\n"
        let cases: [(String, String)] = [
            (header + "m 1", "no final newline"),
            (header + "m{a=\"b\\x\"} 1\n", "bad escape"),
            (header + "m{a=\"b} 1\n", "unterminated value"),
            (header + "m{a=b} 1\n", "unquoted value"),
            (header + "m{1a=\"b\"} 1\n", "bad label name"),
            (header + "m{__a=\"b\"} 1\n", "reserved label name"),
            (header + "m{a=\"1\",a=\"2\"} 1\n", "label twice"),
            (header + "m 1\nm 2\n", "duplicate series"),
            (header + "m one\n", "bad value"),
            (header + "m 1 1.5\n", "bad timestamp"),
            (header + "m\n", "no value"),
            ("# HELP 9m h\n# TYPE 9m gauge\n9m 1\n", "bad metric name"),
            ("# HELP m h\nm 1\n# TYPE m gauge\n", "TYPE after samples"),
            (header + "# TYPE m gauge\n", "second TYPE"),
            ("# TYPE m gauge\nm 1\n", "no HELP"),
            ("# HELP m h\nm 1\n", "no TYPE"),
            ("# HELP m h\n# TYPE m nonsense\nm 1\n", "unknown type"),
            (header + "m{a=\"1\"} 1\n# HELP n h\n# TYPE n gauge\nn 1\nm{a=\"2\"} 1\n", "split family"),
            ("# HELP m_total h\n# TYPE m_total gauge\nm_total 1\n", "_total on a gauge"),
            ("# HELP m h\n# TYPE m counter\nm 1\n", "counter without _total"),
            (header + "\nm 1\n", "blank line"),
            ("# HELP m bad \\x escape\n# TYPE m gauge\nm 1\n", "bad HELP escape"),
        ]
        for (text, why) in cases {
            XCTAssertThrowsError(try PrometheusExposition(text), why)
        }
    }
}
