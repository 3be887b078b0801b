import XCTest
@testable import ProcessJobsCore

final class ListenTotalsTests: XCTestCase {
    private func report(claimed: Int, completed: Int, failed: Int = 0) -> RunReport {
        var summary = RunSummary()
        summary.claimed = claimed
        summary.completed = completed
        summary.failed = failed
        for _ in 0..<completed { summary.count(type: "t", outcome: .completed) }
        return RunReport(summary: summary, stopReason: .drained, seconds: 0.1, roundTrips: 2)
    }

    func testCountsAddUpAndTheStatusShowsTheLastMinute() {
        var totals = ListenTotals()
        totals.add(report(claimed: 3, completed: 3), now: 0, wallNow: 1_000)
        totals.add(report(claimed: 2, completed: 1, failed: 1), now: 50, wallNow: 1_050)
        totals.add(report(claimed: 0, completed: 0), now: 70, wallNow: 1_070)
        XCTAssertEqual(totals.summary.claimed, 5)
        XCTAssertEqual(totals.summary.byType["t"]?[.completed], 4)
        XCTAssertEqual(totals.lastMinute(now: 70).claimed, 2, "the burst at 0 is over a minute old")
        XCTAssertEqual(totals.status(now: 70), "listening; last minute: 2 claimed, 1 completed, 0 retried, 1 failed")
        XCTAssertEqual(totals.lastSuccessfulClaim, 1_070)
        XCTAssertEqual(totals.lastClaimedJobs, 1_050)
    }

    func testFamiliesAreTheMetricsFilesPlusTheLastSuccessfulClaim() {
        var totals = ListenTotals()
        totals.add(report(claimed: 1, completed: 1), now: 0, wallNow: 1_000)
        totals.add(report(claimed: 0, completed: 0), now: 5, wallNow: 1_005)
        let families = totals.families(types: ["t"], seconds: 5, wallNow: 1_010, queue: nil)
        let value = { (name: String) in families.first { $0.name == name }?.samples.first?.value }
        XCTAssertEqual(value(ListenTotals.lastSuccessfulClaimName), 1_005)
        XCTAssertEqual(value(RunMetrics.lastClaimName), 1_000, "the last burst that claimed, not the page's time")
        XCTAssertEqual(value("process_jobs_last_run_claimed_jobs"), 1)
        XCTAssertEqual(value("process_jobs_last_run_success"), 1)
    }
}
