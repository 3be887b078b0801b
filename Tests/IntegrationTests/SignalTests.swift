import Foundation
import PostgresClient
@testable import ProcessJobsCore
import XCTest

/// SIGTERM: stop claiming, let requests in flight finish, release the rest untouched, exit 0.
final class SignalTests: IntegrationTestCase {
    func testSigtermFinishesInFlightAndReleasesTheRest() throws {
        let app = try startApp(arguments: ["--delay-ms", "1500"])
        try db.insertJobs("generate-image", count: 20)
        let runner = try startBinary(["run", "--concurrency", "4", "--batch-size", "20", "--log-format", "json"],
                                     environment: environment(app: app))
        awaitCondition("four requests in flight") { (try? app.requests().count) == 4 }
        runner.signal(SIGTERM)
        let result = runner.result(timeout: 30)
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(try db.count(where: "status = 'completed'"), 4, "the requests in flight finished")
        XCTAssertEqual(try db.count(where: "status = 'pending' AND retry_count = 0 AND locked_by IS NULL AND processed_at IS NULL"), 16,
                       "the unsent jobs were released untouched")
        XCTAssertEqual(try app.requests().count, 4)
        XCTAssertTrue(result.stderr.contains("\"stop\":\"signal\""), result.stderr)
    }

    func testGraceEndCutsRequestsAndReleasesThem() throws {
        let app = try startApp()
        let id = try db.insertJob("generate-image")
        try app.setRules(#"[{"match": {"jobId": "\#(id)"}, "action": {"hang": 60}}]"#)
        let runner = try startBinary(["run", "--grace", "1s", "--log-format", "json"], environment: environment(app: app))
        awaitCondition("the request in flight") { (try? app.requests().count) == 1 }
        runner.signal(SIGTERM)
        let result = runner.result(timeout: 20)
        XCTAssertEqual(result.status, 0, result.stderr)
        let row = try db.job(id)
        XCTAssertEqual(row.status, "pending")
        XCTAssertEqual(row.retryCount, 0)
        XCTAssertNil(row.lockedBy)
        XCTAssertTrue(result.stderr.contains("request cut"), result.stderr)
    }
}
