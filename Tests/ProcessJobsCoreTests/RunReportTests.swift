import Logging
import XCTest
@testable import ProcessJobsCore

final class RunReportTests: XCTestCase {
    func testSummaryFieldsNameEachOutcomeAsTheMetricsDo() {
        var summary = RunSummary()
        summary.claimed = 5
        summary.completed = 3
        summary.retried = 1
        summary.leaseLost = 1
        let fields = RunReport(summary: summary, stopReason: .drained, seconds: 2, roundTrips: 4).summaryFields
        XCTAssertEqual(fields["completed"], .stringConvertible(3))
        XCTAssertEqual(fields["retried"], .stringConvertible(1))
        XCTAssertEqual(fields["lease_lost"], .stringConvertible(1))
        XCTAssertEqual(fields["jobs_per_second"], .stringConvertible(2))
        XCTAssertEqual(fields["stop"], .string("drained"))
        XCTAssertNil(fields["next_due_in"])
    }

    func testRateLimitedSaysWhenTheHeldWorkIsDue() {
        let fields = RunReport(summary: RunSummary(), stopReason: .rateLimited(nextDueIn: 90), seconds: 1, roundTrips: 2).summaryFields
        XCTAssertEqual(fields["stop"], .string("rate_limited"))
        XCTAssertEqual(fields["next_due_in"], .string("90s"))
    }
}
