import XCTest
@testable import ProcessJobsCore

final class HeldRoutesTests: XCTestCase {
    func testARateHoldKeepsTheRouteOutUntilItsSlot() {
        var held = HeldRoutes()
        let result = held.claimReturned(types: ["a", "b"], reported: [RouteHold(type: "a", reason: .rate, held: 4, nextIn: 2)], now: 10)
        XCTAssertFalse(result.retryAtOnce)
        XCTAssertTrue(held.isHeld("a", now: 11.9))
        XCTAssertFalse(held.isHeld("a", now: 12))
        XCTAssertFalse(held.isHeld("b", now: 10))
        XCTAssertFalse(held.anyOpen(now: 11.9))
        XCTAssertTrue(held.anyOpen(now: 12))
        XCTAssertEqual(held.earliest(after: 10), .init(until: 12, reason: .rate, timed: true))
        XCTAssertNil(held.earliest(after: 12))
    }

    func testAHoldWithoutATimeIsAskedAgainAfterTheRetryInterval() {
        var held = HeldRoutes(retryInterval: 1)
        _ = held.claimReturned(types: ["a"], reported: [RouteHold(type: "a", reason: .concurrency, held: 1, nextIn: nil)], now: 10)
        XCTAssertEqual(held.earliest(after: 10), .init(until: 11, reason: .concurrency, timed: false))
    }

    /// Listen mode: a pause until resumed (no end) is asked about again every --poll-interval.
    func testTheLongestWaitBoundsAPauseUntilResumed() {
        var held = HeldRoutes(longestWait: 30)
        _ = held.claimReturned(types: ["a", "b"], reported: [
            RouteHold(type: "a", reason: .paused, held: 1, nextIn: .infinity),
            RouteHold(type: "b", reason: .rate, held: 1, nextIn: 5),
        ], now: 10)
        XCTAssertEqual(held.earliest(after: 10), .init(until: 15, reason: .rate, timed: true), "shorter gates as they say")
        XCTAssertTrue(held.isHeld("a", now: 39.9))
        XCTAssertFalse(held.isHeld("a", now: 40), "asked again after the longest wait")
        var timer = HeldRoutes()
        _ = timer.claimReturned(types: ["a"], reported: [RouteHold(type: "a", reason: .paused, held: 1, nextIn: .infinity)], now: 10)
        XCTAssertTrue(timer.isHeld("a", now: 1e9), "a one-shot run leaves it to the next run")
    }

    func testALeaseEndingReopensAConcurrencyHoldButNotARateHold() {
        var held = HeldRoutes(retryInterval: 1)
        _ = held.claimReturned(types: ["a", "b"], reported: [
            RouteHold(type: "a", reason: .concurrency, held: 1, nextIn: nil),
            RouteHold(type: "b", reason: .rate, held: 1, nextIn: 5),
        ], now: 10)
        held.leasesEnded(types: ["a", "b"], now: 10.1)
        XCTAssertFalse(held.isHeld("a", now: 10.1), "room may have opened: ask at the next claim")
        XCTAssertTrue(held.anyOpen(now: 10.1), "open, so the run claims once more before it ends")
        XCTAssertTrue(held.isHeld("b", now: 10.1), "a rate slot comes when it comes")
    }

    func testContendedMeansClaimAgainAtOnce() {
        var held = HeldRoutes()
        let result = held.claimReturned(types: ["a"], reported: [RouteHold(type: "a", reason: .contended, held: 3, nextIn: nil)], now: 0)
        XCTAssertTrue(result.retryAtOnce)
        XCTAssertFalse(held.isHeld("a", now: 0))
    }

    func testAClaimWithoutAHoldReleasesTheRoute() {
        var held = HeldRoutes()
        _ = held.claimReturned(types: ["a"], reported: [RouteHold(type: "a", reason: .paused, held: 1, nextIn: 30)], now: 0)
        XCTAssertEqual(held.pausedTypes(now: 1), ["a"])
        _ = held.claimReturned(types: ["a"], reported: [], now: 1)
        XCTAssertFalse(held.isHeld("a", now: 1))
        XCTAssertEqual(held.pausedTypes(now: 1), [])
    }

    func testWarnsOnceAMinuteWhileARouteStaysHeld() {
        var held = HeldRoutes()
        let hold = [RouteHold(type: "a", reason: .rate, held: 1, nextIn: 1)]
        var warnings: [Double] = []
        for second in stride(from: 0.0, through: 150, by: 1) {
            warnings += held.claimReturned(types: ["a"], reported: hold, now: second).throttled.map { _ in second }
        }
        XCTAssertEqual(warnings, [60, 120])
        XCTAssertEqual(held.claimReturned(types: ["a"], reported: [], now: 151).throttled, [])
        XCTAssertEqual(held.claimReturned(types: ["a"], reported: hold, now: 152).throttled, [], "held anew: the minute starts again")
        XCTAssertEqual(held.claimReturned(types: ["a"], reported: hold, now: 212).throttled,
                       [.init(type: "a", reason: .rate, seconds: 60)])
    }
}
