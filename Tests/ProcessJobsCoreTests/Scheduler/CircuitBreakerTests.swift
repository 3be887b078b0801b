import XCTest
@testable import ProcessJobsCore

final class CircuitBreakerTests: XCTestCase {
    func testTripsAfterThresholdUnsentInARow() {
        var breaker = CircuitBreaker(threshold: 3)
        XCTAssertFalse(breaker.notSent())
        XCTAssertFalse(breaker.notSent())
        breaker.reached()
        XCTAssertFalse(breaker.notSent(), "a request that reached the app starts the count again")
        XCTAssertFalse(breaker.notSent())
        XCTAssertTrue(breaker.notSent())
    }
}
