import Logging
import XCTest
@testable import ProcessJobsCore

final class OutcomeLogTests: XCTestCase {
    func testOneLinePerOutcomeSpelledAsTheLogAndCountedAsTheMetrics() {
        let job = SchedulerFixtures.job("a", retryCount: 1)
        let outcomes = [
            PendingOutcome(job: job, outcome: .retry(error: "HTTP 500", delay: 60), httpStatus: 500, seconds: 0.25),
            PendingOutcome(job: SchedulerFixtures.job("b"), outcome: .complete(result: nil), httpStatus: 200, seconds: 0.1),
            PendingOutcome(job: SchedulerFixtures.job("c"), outcome: .release(delay: nil)),
        ]
        var summary = RunSummary()
        let lines = OutcomeLog.record(outcomes, written: [JobStore.Recorded(id: "a", status: "pending", retryCount: 2),
                                                         JobStore.Recorded(id: "b", status: "completed", retryCount: 0)],
                                      into: &summary)
        XCTAssertEqual(lines.map(\.message), ["job retry", "job completed", "outcome not recorded: the lease was taken over by another run"])
        XCTAssertEqual(lines.map(\.level), [.warning, .info, .warning])
        XCTAssertEqual(lines[0].metadata["outcome"], .string("retry"))
        XCTAssertEqual(lines[0].metadata["retry_in"], .string("60s"))
        XCTAssertEqual(lines[0].metadata["retry_count"], .stringConvertible(2))
        XCTAssertEqual(lines[0].metadata["attempt"], .stringConvertible(2))
        XCTAssertEqual(lines[0].metadata["ms"], .string("250"))
        XCTAssertEqual(lines[2].metadata["http"], .string("-"))
        XCTAssertEqual(summary.retried, 1)
        XCTAssertEqual(summary.completed, 1)
        XCTAssertEqual(summary.leaseLost, 1)
        XCTAssertEqual(summary.byType["generate-image"], [.retried: 1, .completed: 1, .leaseLost: 1])
    }
}
