import XCTest
@testable import ProcessJobsCore

final class BodyBudgetTests: XCTestCase {
    func testBodiesOverMaxPayloadCountForNothing() {
        let budget = BodyBudget(maxInflightBytes: 1000, maxPayload: 100)
        XCTAssertEqual(budget.held(SchedulerFixtures.job("a", bodySize: 100)), 100)
        XCTAssertEqual(budget.held(SchedulerFixtures.job("b", bodySize: 101)), 0, "never loaded")
    }

    func testAClaimMayBringWhatIsLeftAndGoesAloneWhenNothingIsHeld() {
        let budget = BodyBudget(maxInflightBytes: 1000, maxPayload: 100)
        XCTAssertTrue(budget.claim(holding: 0) == (1000, true))
        XCTAssertTrue(budget.claim(holding: 600) == (400, false))
    }
}
