import XCTest
@testable import ProcessJobsCore

/// Flow control through the scheduler: holds the tick reports from the shared route state.
final class SchedulerFlowTests: XCTestCase {
    private typealias F = SchedulerFixtures
    private let image = "generate-image"

    private func scheduler(_ change: (inout RunSettings) -> Void = { _ in }) -> Scheduler {
        Scheduler(settings: F.settings(change), types: [image], started: 0)
    }

    private func rateHold(in seconds: Double, held: Int = 3) -> [RouteHold] {
        [RouteHold(type: image, reason: .rate, held: held, nextIn: seconds)]
    }

    func testTheClaimCarriesTheRouteLimits() throws {
        let limits = [image: RouteLimits(rate: RouteRate(count: 30, period: 60, burst: 2), concurrency: 4)]
        var scheduler = scheduler {
            $0.limits = limits
            $0.fairBy = .none
            $0.userConcurrency = 2
        }
        let claim = try XCTUnwrap(scheduler.next(now: 0).claims.first)
        XCTAssertEqual(claim.limits, limits)
        XCTAssertEqual(claim.fairBy, FairBy.none)
        XCTAssertEqual(claim.userConcurrency, 2)
    }

    func testOnlyWorkHeldByARateWaitsForTheSlotThenClaims() throws {
        var scheduler = scheduler { $0.maxRuntime = 60 }
        _ = scheduler.next(now: 0)
        _ = scheduler.tickFinished(F.claimed([], holds: rateHold(in: 2)), now: 0.1)
        let waiting = scheduler.next(now: 0.1)
        XCTAssertNil(waiting.finished)
        XCTAssertTrue(waiting.claims.isEmpty)
        XCTAssertEqual(waiting.wake, 1.1, "never longer than a second")
        XCTAssertTrue(scheduler.next(now: 1.1).claims.isEmpty, "not before the slot")
        let claim = try XCTUnwrap(scheduler.next(now: 2.1).claims.first)
        XCTAssertEqual(claim.quotas.map(\.type), [image])
        _ = scheduler.tickFinished(F.claimed([]), now: 2.2)
        XCTAssertEqual(scheduler.next(now: 2.2).finished, .drained)
        XCTAssertEqual(scheduler.summary.held[image]?[.rate], 3)
    }

    func testASlotAfterMaxRuntimeEndsTheRunRateLimited() {
        var scheduler = scheduler { $0.maxRuntime = 10 }
        _ = scheduler.next(now: 0)
        _ = scheduler.tickFinished(F.claimed([], holds: rateHold(in: 30)), now: 1)
        XCTAssertEqual(scheduler.next(now: 1).finished, .rateLimited(nextDueIn: 30))
    }

    func testOnceDoesNotWait() {
        var scheduler = scheduler { $0.once = true }
        _ = scheduler.next(now: 0)
        _ = scheduler.tickFinished(F.claimed([], holds: rateHold(in: 2)), now: 0)
        XCTAssertEqual(scheduler.next(now: 0).finished, .rateLimited(nextDueIn: 2))
    }

    func testAPauseFromTheSharedStateIsAHoldButNotWaitedFor() {
        var scheduler = scheduler { $0.maxRuntime = 10 }
        _ = scheduler.next(now: 0)
        _ = scheduler.tickFinished(F.claimed([], holds: [RouteHold(type: image, reason: .paused, held: 1, nextIn: 4)]), now: 0)
        XCTAssertEqual(scheduler.pausedRoutes(now: 1), [image])
        XCTAssertEqual(scheduler.next(now: 1).finished, .drained, "the app asked for quiet: the next run finds the route as the pause left it")
    }

    func testAPausedRouteComesBackWhileTheRunIsBusyWithOthers() {
        var scheduler = Scheduler(settings: F.settings { $0.maxRuntime = 10 }, types: [image, "generate-aplus"], started: 0)
        _ = scheduler.next(now: 0)
        _ = scheduler.tickFinished(F.claimed([F.job("a1", type: "generate-aplus")], holds: [RouteHold(type: image, reason: .paused, held: 1, nextIn: 4)]), now: 0)
        XCTAssertTrue(scheduler.next(now: 1).claims.allSatisfy { !$0.quotas.map(\.type).contains(image) })
    }

    func testContendedClaimsAgainAtOnce() {
        var scheduler = scheduler()
        _ = scheduler.next(now: 0)
        _ = scheduler.tickFinished(F.claimed([], holds: [RouteHold(type: image, reason: .contended, held: 5, nextIn: nil)]), now: 0)
        XCTAssertEqual(scheduler.next(now: 0).claims.count, 1)
    }

    func testAConcurrencyHoldAsksAgainWhileOtherRunnersHoldTheLeases() {
        var scheduler = scheduler { $0.maxRuntime = 60 }
        _ = scheduler.next(now: 0)
        _ = scheduler.tickFinished(F.claimed([], holds: [RouteHold(type: image, reason: .concurrency, held: 2, nextIn: nil)]), now: 0)
        XCTAssertTrue(scheduler.next(now: 0.5).claims.isEmpty)
        XCTAssertEqual(scheduler.next(now: 1).claims.count, 1)
    }

    func testARouteHeldForAMinuteIsLoggedOncePerMinute() {
        var scheduler = scheduler { $0.maxRuntime = nil }
        var warnings: [Double] = []
        var now = 0.0
        while now <= 130 {
            let actions = scheduler.next(now: now)
            if !actions.claims.isEmpty {
                warnings += scheduler.tickFinished(F.claimed([], holds: rateHold(in: 1)), now: now).logs
                    .filter { $0.level == .warning && $0.message.hasPrefix("route throttled") }.map { _ in now }
            }
            now += 0.5
        }
        XCTAssertEqual(warnings, [60, 120])
    }

    func testHoldsOfATypeWithWorkInFlightDoNotStopTheOthers() {
        var scheduler = Scheduler(settings: F.settings { $0.maxRuntime = 60 }, types: [image, "generate-aplus"], started: 0)
        _ = scheduler.next(now: 0)
        _ = scheduler.tickFinished(F.claimed(F.jobs(1, type: "generate-aplus"), holds: rateHold(in: 5)), now: 0)
        let actions = scheduler.next(now: 0)
        XCTAssertEqual(actions.sent.map(\.job.type), ["generate-aplus"])
        for (_, tag) in actions.sent {
            _ = scheduler.answered(tag: tag, exchange: F.answer(200), seconds: 0, now: 1, wallNow: 0)
        }
        let claim = scheduler.next(now: 1.3).claims.first
        XCTAssertEqual(claim?.quotas.map(\.type), ["generate-aplus"], "the held route waits for its slot")
    }
}
