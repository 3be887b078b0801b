import XCTest
@testable import ProcessJobsCore

final class RecordBatchTests: XCTestCase {
    private func outcome(_ id: String) -> PendingOutcome {
        PendingOutcome(job: SchedulerFixtures.job(id), outcome: .complete(result: nil))
    }

    func testWaitsForABatchTheDelayOrAnEmptyRun() {
        var batch = RecordBatch(batchSize: 3, delay: 0.1)
        XCTAssertFalse(batch.isDue(now: 0, nothingInFlight: true), "nothing to write")
        XCTAssertNil(batch.wake)
        batch.add(outcome("a"), now: 5)
        XCTAssertFalse(batch.isDue(now: 5.05, nothingInFlight: false))
        XCTAssertTrue(batch.isDue(now: 5.05, nothingInFlight: true), "no answer will come to batch with")
        XCTAssertTrue(batch.isDue(now: 5.11, nothingInFlight: false), "the oldest has waited the delay")
        XCTAssertEqual(batch.wake, 5.1)
        batch.add(outcome("b"), now: 5.06)
        batch.add(outcome("c"), now: 5.07)
        XCTAssertTrue(batch.isDue(now: 5.07, nothingInFlight: false), "a batch gathered")
        XCTAssertEqual(batch.take().map(\.job.id), ["a", "b", "c"])
        XCTAssertTrue(batch.isEmpty)
        batch.add(outcome("d"), now: 9)
        XCTAssertEqual(batch.wake, 9.1, "the delay counts from the oldest still waiting")
    }

    func testDropsTheBody() {
        var batch = RecordBatch(batchSize: 3, delay: 0.1)
        batch.add(outcome("a"), now: 0)
        XCTAssertNil(batch.outcomes[0].job.body)
    }
}
