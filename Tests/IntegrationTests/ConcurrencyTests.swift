import Foundation
import PostgresClient
@testable import ProcessJobsCore
import XCTest

/// Several processes at once: SKIP LOCKED must give each job to exactly one of them.
final class ConcurrencyTests: IntegrationTestCase {
    func testFourProcessesPostEveryJobExactlyOnce() throws {
        // Slow answers keep the first runner busy while the others start, so all can take part.
        let app = try startApp(arguments: ["--delay-ms", "10"])
        try db.insertJobs("generate-image", count: 500)
        try db.insertJobs("generate-aplus", count: 500, payload: #"{"projectId":"p"}"#)
        let runners = try (0..<4).map { _ in
            try startBinary(["run", "--batch-size", "20", "--concurrency", "8", "--log-format", "json"],
                            environment: environment(app: app))
        }
        var claimedPerRunner: [Int] = []
        for runner in runners {
            let result = runner.result(timeout: 120)
            XCTAssertEqual(result.status, 0, result.stderr)
            claimedPerRunner.append(Self.claimed(inSummaryOf: result.stderr))
        }
        XCTAssertEqual(claimedPerRunner.reduce(0, +), 1000, "the runners' summaries account for every job")
        XCTAssertGreaterThanOrEqual(claimedPerRunner.filter { $0 > 0 }.count, 3,
                                    "several runners took part: \(claimedPerRunner)")
        XCTAssertEqual(try db.count(where: "status = 'completed'"), 1000)
        let requests = try app.requests().filter { $0.path.hasPrefix("/api/") }
        let perJob = Dictionary(grouping: requests, by: { $0.jobId ?? "" })
        XCTAssertEqual(perJob.count, 1000)
        XCTAssertEqual(perJob.values.filter { $0.count != 1 }.count, 0, "every job POSTed exactly once")
        let holders = try db.query("SELECT count(DISTINCT locked_by) FROM job_queue").values[0][0]
        XCTAssertEqual(holders, "0", "every lease released")
    }

    /// `claimed` from a run's JSON summary line ("run done").
    private static func claimed(inSummaryOf log: String) -> Int {
        for line in log.split(separator: "\n") where line.contains("\"run done\"") {
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { continue }
            if let value = object["claimed"] as? Int { return value }
            if let text = object["claimed"] as? String, let value = Int(text) { return value }
        }
        return 0
    }
}
