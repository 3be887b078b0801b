import XCTest
@testable import ProcessJobsCore

final class RunMetricsTests: XCTestCase {
    private func run(exitCode: Int32 = 0, claimed: Int = 4, types: [String] = ["generate-aplus", "generate-image"]) -> RunMetrics.Run {
        var summary = RunSummary()
        summary.claimed = claimed
        summary.completed = 2
        summary.retried = 1
        summary.rescued = 1
        summary.count(type: "generate-image", outcome: .completed)
        summary.count(type: "generate-image", outcome: .completed)
        summary.count(type: "generate-image", outcome: .retried)
        summary.count(type: "legacy-type", outcome: .failed)
        return RunMetrics.Run(summary: summary, seconds: 1.25, stop: "drained", exitCode: exitCode,
                              finishedAt: 1_700_000_000.5, types: types)
    }

    private func value(_ families: [MetricFamily], _ name: String, _ labels: [String: String] = [:]) -> Double? {
        families.first { $0.name == name }?.samples.first { sample in
            Dictionary(uniqueKeysWithValues: sample.labels.map { ($0.name, $0.value) }) == labels
        }?.value
    }

    func testJobsByTypeAndOutcomeWithZerosForEveryClaimedType() {
        let families = RunMetrics.families(run: run(), queue: nil, carried: .init())
        XCTAssertEqual(value(families, "process_jobs_last_run_jobs", ["type": "generate-image", "outcome": "completed"]), 2)
        XCTAssertEqual(value(families, "process_jobs_last_run_jobs", ["type": "generate-image", "outcome": "retried"]), 1)
        XCTAssertEqual(value(families, "process_jobs_last_run_jobs", ["type": "generate-aplus", "outcome": "completed"]), 0,
                       "a claimed type with nothing to do still has its series")
        XCTAssertEqual(value(families, "process_jobs_last_run_jobs", ["type": "legacy-type", "outcome": "failed"]), 1)
        let jobs = families.first { $0.name == "process_jobs_last_run_jobs" }!
        XCTAssertEqual(jobs.samples.count, 3 * OutcomeKind.allCases.count)
        XCTAssertEqual(value(families, "process_jobs_last_run_claimed_jobs"), 4)
        XCTAssertEqual(value(families, "process_jobs_last_run_rescued_jobs"), 1)
        XCTAssertEqual(value(families, "process_jobs_last_run_duration_seconds"), 1.25)
        XCTAssertEqual(value(families, "process_jobs_last_run_stop_reason", ["reason": "drained"]), 1)
    }

    func testSuccessSetsLastSuccessToThisRun() {
        let families = RunMetrics.families(run: run(), queue: nil, carried: .init(lastSuccess: 1_600_000_000))
        XCTAssertEqual(value(families, "process_jobs_last_run_timestamp_seconds"), 1_700_000_000.5)
        XCTAssertEqual(value(families, "process_jobs_last_success_timestamp_seconds"), 1_700_000_000.5)
        XCTAssertEqual(value(families, "process_jobs_last_run_success"), 1)
        XCTAssertEqual(value(families, "process_jobs_last_run_exit_code"), 0)
    }

    func testFailureCarriesThePreviousLastSuccess() {
        let families = RunMetrics.families(run: run(exitCode: 75), queue: nil, carried: .init(lastSuccess: 1_600_000_000))
        XCTAssertEqual(value(families, "process_jobs_last_success_timestamp_seconds"), 1_600_000_000)
        XCTAssertEqual(value(families, "process_jobs_last_run_success"), 0)
        XCTAssertEqual(value(families, "process_jobs_last_run_exit_code"), 75)
        let none = RunMetrics.families(run: run(exitCode: 77), queue: nil, carried: .init())
        XCTAssertEqual(value(none, "process_jobs_last_success_timestamp_seconds"), 0, "no success known")
    }

    func testLastClaimIsThisRunWhenItClaimedElseCarried() {
        let claimed = RunMetrics.families(run: run(), queue: nil, carried: .init(lastClaim: 1_600_000_000))
        XCTAssertEqual(value(claimed, "process_jobs_last_claim_timestamp_seconds"), 1_700_000_000.5)
        let idle = RunMetrics.families(run: run(claimed: 0), queue: nil, carried: .init(lastClaim: 1_600_000_000))
        XCTAssertEqual(value(idle, "process_jobs_last_claim_timestamp_seconds"), 1_600_000_000, "a run that claimed nothing keeps the previous claim")
        let failed = RunMetrics.families(run: run(exitCode: 75, claimed: 0), queue: nil, carried: .init(lastSuccess: 1_500_000_000, lastClaim: 1_600_000_000))
        XCTAssertEqual(value(failed, "process_jobs_last_claim_timestamp_seconds"), 1_600_000_000)
        let none = RunMetrics.families(run: run(claimed: 0), queue: nil, carried: .init())
        XCTAssertEqual(value(none, "process_jobs_last_claim_timestamp_seconds"), 0, "no claim known")
    }

    func testRoutePausedForEveryClaimedType() {
        var paused = run(exitCode: 0)
        paused.summary.pausedTypes = ["generate-image"]
        let families = RunMetrics.families(run: paused, queue: nil, carried: .init())
        XCTAssertEqual(value(families, "process_jobs_last_run_route_paused", ["type": "generate-image"]), 1)
        XCTAssertEqual(value(families, "process_jobs_last_run_route_paused", ["type": "generate-aplus"]), 0, "written even when not paused")
        let calm = RunMetrics.families(run: run(), queue: nil, carried: .init())
        XCTAssertEqual(value(calm, "process_jobs_last_run_route_paused", ["type": "generate-image"]), 0)
    }

    func testHeldJobsByTypeAndReasonAndThePausedRouteGauge() {
        var held = run(exitCode: 0)
        held.summary.held = ["generate-image": [.rate: 7, .paused: 2]]
        held.pausedRoutes = ["generate-image"]
        let families = RunMetrics.families(run: held, queue: nil, carried: .init())
        XCTAssertEqual(value(families, "process_jobs_last_run_held_jobs", ["type": "generate-image", "reason": "rate"]), 7)
        XCTAssertEqual(value(families, "process_jobs_last_run_held_jobs", ["type": "generate-image", "reason": "user_cap"]), 0)
        XCTAssertEqual(value(families, "process_jobs_last_run_held_jobs", ["type": "generate-aplus", "reason": "concurrency"]), 0,
                       "every claimed type, every reason")
        XCTAssertEqual(value(families, "process_jobs_route_paused", ["type": "generate-image"]), 1)
        XCTAssertEqual(value(families, "process_jobs_route_paused", ["type": "generate-aplus"]), 0)
    }

    func testStopAndExitCodeAsWritten() {
        let text = PrometheusText.render(RunMetrics.families(run: run(exitCode: 77), queue: nil, carried: .init()))
        XCTAssertTrue(text.contains("\nprocess_jobs_last_run_exit_code 77\n"), text)
        XCTAssertTrue(text.contains("\nprocess_jobs_last_run_stop_reason{reason=\"drained\"} 1\n"), text)
        XCTAssertTrue(text.contains("\nprocess_jobs_last_claim_timestamp_seconds 1700000000.5\n"), text)
        XCTAssertTrue(text.contains("\nprocess_jobs_last_run_route_paused{type=\"generate-aplus\"} 0\n"), text)
    }

    func testQueueGaugesLeftOutWhenTheQueueWasNotRead() {
        let families = RunMetrics.families(run: run(), queue: nil, carried: .init())
        XCTAssertFalse(families.contains { $0.name.hasPrefix("process_jobs_queue_") })
    }

    func testQueueGauges() {
        let queue = [
            OperatorStore.QueueRow(type: "generate-image", status: "pending", jobs: 5, due: 3, oldestDueSeconds: 42, nextRetryAt: 1),
            OperatorStore.QueueRow(type: "generate-image", status: "processing", jobs: 2, expiredLeases: 1),
            OperatorStore.QueueRow(type: "generate-image", status: "failed", jobs: 7),
            OperatorStore.QueueRow(type: "send-newsletter", status: "pending", jobs: 1, due: 1, oldestDueSeconds: 9),
        ]
        let families = RunMetrics.families(run: run(), queue: queue, carried: .init())
        XCTAssertEqual(value(families, "process_jobs_queue_jobs", ["type": "generate-image", "status": "pending"]), 5)
        XCTAssertEqual(value(families, "process_jobs_queue_jobs", ["type": "generate-image", "status": "completed"]), 0)
        XCTAssertEqual(value(families, "process_jobs_queue_jobs", ["type": "generate-aplus", "status": "pending"]), 0)
        XCTAssertEqual(value(families, "process_jobs_queue_jobs", ["type": "send-newsletter", "status": "pending"]), 1,
                       "unrouted types are counted too")
        XCTAssertEqual(value(families, "process_jobs_queue_due_jobs", ["type": "generate-image"]), 3)
        XCTAssertEqual(value(families, "process_jobs_queue_oldest_due_age_seconds", ["type": "generate-image"]), 42)
        XCTAssertEqual(value(families, "process_jobs_queue_oldest_due_age_seconds", ["type": "generate-aplus"]), 0)
        XCTAssertEqual(value(families, "process_jobs_queue_expired_leases", ["type": "generate-image"]), 1)
    }

    func testNamesFollowConventions() {
        let families = RunMetrics.families(run: run(), queue: [], carried: .init())
        var names = Set<String>()
        for family in families {
            XCTAssertTrue(family.name.hasPrefix("process_jobs_"), family.name)
            XCTAssertTrue(PrometheusText.isValidMetricName(family.name), family.name)
            XCTAssertFalse(family.name.hasSuffix("_total"), "per-run numbers are gauges: \(family.name)")
            XCTAssertEqual(family.kind, .gauge)
            XCTAssertFalse(family.help.isEmpty)
            XCTAssertTrue(names.insert(family.name).inserted, "one family per name")
            if family.name.contains("duration") || family.name.contains("age") || family.name.contains("timestamp") {
                XCTAssertTrue(family.name.hasSuffix("_seconds"), family.name)
            }
        }
    }
}
