import Foundation
import PostgresClient
@testable import ProcessJobsCore
import XCTest

/// SIGINT (Ctrl-C) twice: the first asks for a graceful stop, the second cuts requests in flight
/// at once instead of waiting out the grace period. Cut requests go back uncharged; they were
/// sent, so the app may see them again (same Idempotency-Key, same X-Job-Attempt).
final class SecondSignalTests: IntegrationTestCase {
    func testSecondSignalCutsRequestsInFlightAtOnce() throws {
        let app = try startApp()
        try db.insertJobs("generate-image", count: 2)
        try app.setRules(#"[{"action": {"hang": 60}}]"#)
        let runner = try startBinary(["run", "--grace", "30s", "--log-format", "json"], environment: environment(app: app))
        awaitCondition("two requests in flight") { (try? app.requests().count) == 2 }
        runner.signal(SIGINT)
        awaitCondition("the first signal taken") { runner.stderr.contains("stop requested") }
        XCTAssertTrue(runner.isRunning, "the first signal waits for the requests in flight")
        let second = Date()
        runner.signal(SIGINT)
        let result = runner.result(timeout: 20)
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertLessThan(Date().timeIntervalSince(second), 5, "cut at once, not after the 30s grace")
        XCTAssertTrue(result.stderr.contains("request cut: a second stop signal arrived"), result.stderr)
        XCTAssertEqual(try db.count(where: "status = 'pending' AND retry_count = 0 AND locked_by IS NULL AND run_at <= now()"), 2,
                       "released uncharged, due again")
    }
}
