import Foundation
import PostgresClient
@testable import ProcessJobsCore
import XCTest

/// Several processes at once: SKIP LOCKED must give each job to exactly one of them.
final class ConcurrencyTests: IntegrationTestCase {
    func testFourProcessesPostEveryJobExactlyOnce() throws {
        let app = try startApp()
        try db.insertJobs("generate-image", count: 500)
        try db.insertJobs("generate-aplus", count: 500, payload: #"{"projectId":"p"}"#)
        let runners = try (0..<4).map { _ in
            try startBinary(["run", "--batch-size", "20", "--concurrency", "8", "--log-format", "json"],
                            environment: environment(app: app))
        }
        for runner in runners {
            XCTAssertEqual(runner.result(timeout: 120).status, 0)
        }
        XCTAssertEqual(try db.count(where: "status = 'completed'"), 1000)
        let requests = try app.requests().filter { $0.path.hasPrefix("/api/") }
        let perJob = Dictionary(grouping: requests, by: { $0.jobId ?? "" })
        XCTAssertEqual(perJob.count, 1000)
        XCTAssertEqual(perJob.values.filter { $0.count != 1 }.count, 0, "every job POSTed exactly once")
        // Several runners really took part.
        let holders = try db.query("SELECT count(DISTINCT locked_by) FROM job_queue").values[0][0]
        XCTAssertEqual(holders, "0", "every lease released")
    }
}
