import XCTest
@testable import ProcessJobsCore

final class LoopHeartbeatTests: XCTestCase {
    func testHealthyWithinTwoPollIntervalsOfTheLastTurn() {
        let heartbeat = LoopHeartbeat(pollInterval: 30, started: 100)
        let cases: [(now: Double, healthy: Bool)] = [(100, true), (130, true), (160, true), (160.001, false), (1000, false)]
        for (now, healthy) in cases {
            XCTAssertEqual(heartbeat.check(at: now).healthy, healthy, "at \(now)")
        }
        heartbeat.beat(at: 1000)
        XCTAssertTrue(heartbeat.check(at: 1059).healthy)
        XCTAssertEqual(heartbeat.check(at: 1061).detail, "the loop last turned 61s ago (limit 60s)")
    }

    func testABeatFromThePastDoesNotMoveTheTurnBack() {
        let heartbeat = LoopHeartbeat(pollInterval: 1, started: 50)
        heartbeat.beat(at: 10)
        XCTAssertTrue(heartbeat.check(at: 51.5).healthy)
    }
}
