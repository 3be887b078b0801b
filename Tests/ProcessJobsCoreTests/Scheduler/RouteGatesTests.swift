import XCTest
@testable import ProcessJobsCore

final class RouteGatesTests: XCTestCase {
    func testLocalCapPerType() {
        var gates = RouteGates(localLimits: ["a": 2], pauseCap: 3600)
        gates.started("a")
        XCTAssertTrue(gates.hasRoom("a"))
        gates.started("a")
        XCTAssertFalse(gates.hasRoom("a"))
        XCTAssertTrue(gates.hasRoom("b"), "no cap")
        XCTAssertEqual(gates.quota("a", limit: 32, now: 0), 2, "twice the cap less what is in flight")
        XCTAssertEqual(gates.quota("b", limit: 32, now: 0), 32)
        gates.finished("a")
        XCTAssertTrue(gates.hasRoom("a"))
    }

    func testPauseForRetryAfterCappedElseForTheRun() {
        var gates = RouteGates(localLimits: [:], pauseCap: 60)
        XCTAssertEqual(gates.pauseLength(retryAfter: 5), 5)
        XCTAssertEqual(gates.pauseLength(retryAfter: 600), 60)
        XCTAssertNil(gates.pauseLength(retryAfter: nil))
        XCTAssertTrue(gates.pause("a", for: 5, now: 100))
        XCTAssertEqual(gates.paused("a", now: 104), 105)
        XCTAssertEqual(gates.quota("a", limit: 32, now: 104), 0)
        XCTAssertFalse(gates.pause("a", for: 2, now: 101), "a shorter pause changes nothing")
        XCTAssertNil(gates.paused("a", now: 105))
        XCTAssertEqual(gates.pausedTypes(now: 104), ["a"])
        XCTAssertTrue(gates.pause("b", for: nil, now: 100))
        XCTAssertEqual(gates.paused("b", now: 1e9), .infinity)
    }
}
