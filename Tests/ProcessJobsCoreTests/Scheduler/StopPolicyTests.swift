import XCTest
@testable import ProcessJobsCore

final class StopPolicyTests: XCTestCase {
    func testFirstSignalStopsAndStartsTheGraceSecondCuts() {
        var policy = StopPolicy(grace: 25)
        XCTAssertEqual(policy.signals(0, now: 1), .init())
        XCTAssertEqual(policy.signals(1, now: 10), .init(stopped: true, cut: nil))
        XCTAssertEqual(policy.reason, .signal)
        XCTAssertEqual(policy.graceDeadline, 35)
        XCTAssertEqual(policy.signals(1, now: 11), .init(), "the same signal is not seen twice")
        XCTAssertEqual(policy.signals(2, now: 12), .init(stopped: false, cut: "a second stop signal arrived"))
    }

    func testTwoSignalsInOneTurnStopAndCutTogether() {
        var policy = StopPolicy(grace: 25)
        XCTAssertEqual(policy.signals(2, now: 10), .init(stopped: true, cut: "a second stop signal arrived"))
        XCTAssertTrue(policy.isStopping)
    }

    func testGraceEndsAtItsDeadlineUntilRequestsAreCut() {
        var policy = StopPolicy(grace: 25)
        _ = policy.signals(1, now: 10)
        XCTAssertNil(policy.graceOver(now: 34.9))
        XCTAssertEqual(policy.graceOver(now: 35), "the shutdown grace period ended")
        policy.cutDone()
        XCTAssertNil(policy.graceOver(now: 40))
    }

    func testTheFirstReasonWins() {
        var policy = StopPolicy(grace: 25)
        XCTAssertTrue(policy.request(.tokenRejected(status: 401)))
        XCTAssertFalse(policy.request(.appUnreachable("x")))
        XCTAssertEqual(policy.signals(1, now: 0), .init(stopped: false, cut: nil), "already stopping: nothing more to release")
        XCTAssertEqual(policy.reason, .tokenRejected(status: 401))
        XCTAssertEqual(policy.graceDeadline, 25, "requests in flight still get the grace")
    }
}
