import XCTest
@testable import ProcessJobsCore

final class AnswerDecisionTests: XCTestCase {
    private let settings = SchedulerFixtures.settings()

    private func decide(_ exchange: Exchange, retryCount: Int = 0) -> AnswerDecision {
        AnswerDecision.decide(exchange, job: SchedulerFixtures.job("a", retryCount: retryCount), settings: settings,
                              wallNow: 0) { 0.5 }
    }

    func testOutcomePerAnswer() {
        XCTAssertEqual(decide(SchedulerFixtures.answer(200)).outcome, .complete(result: "{}"))
        XCTAssertEqual(decide(SchedulerFixtures.answer(200)).reached, true)
        XCTAssertEqual(decide(SchedulerFixtures.answer(500)).outcome, .retry(error: "HTTP 500: {}", delay: 30))
        XCTAssertEqual(decide(SchedulerFixtures.answer(500), retryCount: 3).outcome, .fail(error: "HTTP 500: {}"), "retries exhausted")
        XCTAssertEqual(decide(SchedulerFixtures.answer(400)).outcome, .fail(error: "HTTP 400: {}"))
    }

    func testTooManyPausesTheRouteWithItsRetryAfter() {
        let decision = decide(SchedulerFixtures.answer(429, retryAfter: "5"))
        XCTAssertEqual(decision.slowDown, .init(status: 429, retryAfter: 5))
        XCTAssertEqual(decision.outcome, .retry(error: "HTTP 429: {}", delay: 5))
        XCTAssertNil(decide(SchedulerFixtures.answer(500)).slowDown)
    }

    func testTokenRefusalReleasesAndStops() {
        let decision = decide(SchedulerFixtures.answer(401))
        XCTAssertEqual(decision.outcome, .release(delay: nil))
        XCTAssertEqual(decision.tokenRejected, 401)
        XCTAssertNil(decision.reached)
    }

    func testUnsentReleasesAfterTheUnsentDelay() {
        let decision = decide(SchedulerFixtures.unsent)
        XCTAssertEqual(decision.outcome, .release(delay: settings.unsentDelay))
        XCTAssertEqual(decision.notSent, "connection refused")
        XCTAssertEqual(decision.reached, false)
    }
}
