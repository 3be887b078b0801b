import XCTest
@testable import ProcessJobsCore

final class ReconnectPolicyTests: XCTestCase {
    private let noJitter = ReconnectPolicy(backoff: RetryPolicy(base: 0.1, cap: 10, jitter: 0))

    func testAnOutageOnAFakeClockIsLoggedOnceAndBacksOffToTheCap() {
        var policy = noJitter
        var clock = 1000.0
        var logged = 0
        var delays: [Double] = []
        for _ in 0..<12 {
            let decision = policy.failed(at: clock, random: 0.5)
            if decision.firstOfOutage { logged += 1 }
            delays.append(decision.retryAt - clock)
            XCTAssertFalse(policy.due(at: decision.retryAt.nextDown))
            XCTAssertTrue(policy.due(at: decision.retryAt))
            clock = decision.retryAt
        }
        XCTAssertEqual(logged, 1, "one line per outage, not per try")
        let expected = [0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 10, 10, 10, 10, 10]
        for (delay, want) in zip(delays, expected) { XCTAssertEqual(delay, want, accuracy: 1e-9) }

        let outage = policy.connected(at: clock + 0.25)
        XCTAssertEqual(outage?.failures, 12)
        XCTAssertEqual(outage?.seconds ?? 0, clock + 0.25 - 1000, accuracy: 1e-9)
        XCTAssertNil(policy.nextTry)
        XCTAssertFalse(policy.due(at: clock + 1e6), "connected: nothing to try")
    }

    func testTheNextOutageStartsAfreshAndIsLoggedAgain() {
        var policy = noJitter
        XCTAssertTrue(policy.failed(at: 0, random: 0).firstOfOutage)
        XCTAssertFalse(policy.failed(at: 0.1, random: 0).firstOfOutage)
        XCTAssertNotNil(policy.connected(at: 0.5))
        let again = policy.failed(at: 100, random: 0)
        XCTAssertTrue(again.firstOfOutage)
        XCTAssertEqual(again.retryAt, 100.1, accuracy: 1e-9, "backoff restarts from the base")
    }

    func testConnectingWithoutAnOutageReportsNone() {
        var policy = ReconnectPolicy.standard
        XCTAssertNil(policy.connected(at: 5))
        XCTAssertFalse(policy.due(at: 5))
    }

    func testJitterStaysWithinItsBounds() {
        let policy = ReconnectPolicy.standard
        for random in stride(from: 0.0, to: 1.0, by: 0.05) {
            var copy = policy
            let first = copy.failed(at: 0, random: random).retryAt
            XCTAssertGreaterThanOrEqual(first, 0.08 - 1e-12)
            XCTAssertLessThanOrEqual(first, 0.12 + 1e-12)
            for _ in 0..<20 { _ = copy.failed(at: 0, random: random) }
            XCTAssertLessThanOrEqual(copy.nextTry!, 10, "never past the cap")
        }
    }
}
