import XCTest
@testable import ProcessJobsCore

final class ClaimTimerTests: XCTestCase {
    func testClaimsAtStartThenSleepsUntilTheBackstopPoll() {
        var timer = ClaimTimer(pollInterval: 30, now: 100)
        XCTAssertTrue(timer.due(now: 100), "the first claim goes out at once")
        timer.burstEnded(.foundNothing(nextDueIn: nil), now: 100.5)
        XCTAssertFalse(timer.due(now: 130.4))
        XCTAssertTrue(timer.due(now: 130.5))
        XCTAssertEqual(timer.timeout(now: 110.5), 20, accuracy: 1e-9)
    }

    func testWakesAtTheNextKnownRunAtWhenItComesBeforeThePoll() {
        var timer = ClaimTimer(pollInterval: 30, now: 0)
        timer.burstEnded(.foundNothing(nextDueIn: 2), now: 10)
        XCTAssertFalse(timer.due(now: 12))
        XCTAssertTrue(timer.due(now: 12 + ClaimTimer.slack))
        timer.burstEnded(.foundNothing(nextDueIn: 3600), now: 20)
        XCTAssertEqual(timer.next, 50, accuracy: 1e-9, "a run_at beyond the poll waits for the poll")
        timer.burstEnded(.held(nextDueIn: 1.5), now: 60)
        XCTAssertEqual(timer.next, 61.5 + ClaimTimer.slack, accuracy: 1e-9, "a held route's gate opening")
    }

    func testANotificationOrABurstThatWorkedClaimsAtOnce() {
        var timer = ClaimTimer(pollInterval: 30, now: 0)
        timer.burstEnded(.foundNothing(nextDueIn: nil), now: 1)
        timer.notified(now: 5)
        XCTAssertTrue(timer.due(now: 5))
        timer.burstEnded(.worked, now: 6)
        XCTAssertTrue(timer.due(now: 6), "what arrived during the burst is looked for at once")
    }

    func testABurstThatCouldClaimNothingIsNotRepeatedInALoop() {
        var timer = ClaimTimer(pollInterval: 30, now: 0)
        timer.burstEnded(.fruitless, now: 5)
        XCTAssertFalse(timer.due(now: 5.5))
        XCTAssertTrue(timer.due(now: 5 + ClaimTimer.fruitlessRetry))
        timer.burstEnded(.fruitless, now: 10)
        timer.notified(now: 10.1)
        XCTAssertTrue(timer.due(now: 10.1), "a notification still claims at once")
        var short = ClaimTimer(pollInterval: 0.5, now: 0)
        short.burstEnded(.fruitless, now: 1)
        XCTAssertEqual(short.next, 1.5, accuracy: 1e-9, "never later than the poll")
    }

    func testTheAppUnreachableOpensTheCircuitNotificationsIncluded() {
        var timer = ClaimTimer(pollInterval: 1, circuitPause: 30, now: 0)
        timer.burstEnded(.appUnreachable, now: 10)
        XCTAssertEqual(timer.circuitOpenUntil, 40)
        timer.notified(now: 11)
        XCTAssertFalse(timer.due(now: 39.9), "neither the poll nor a notification claims while open")
        XCTAssertTrue(timer.due(now: 40))
        timer.notified(now: 41)
        XCTAssertNil(timer.circuitOpenUntil, "closed again")
        timer.burstEnded(.foundNothing(nextDueIn: nil), now: 41)
        timer.notified(now: 41.2)
        XCTAssertTrue(timer.due(now: 41.2))
    }
}

extension ClaimTimerTests {
    func testANotificationThatAJobIsDueNowClaimsWithoutTheProbe() {
        var timer = ClaimTimer(pollInterval: 30, now: 0)
        XCTAssertTrue(timer.probes, "the first burst probes: it reads the schema version")
        timer.burstEnded(.foundNothing(nextDueIn: nil), now: 1)
        timer.notified(now: 5)
        XCTAssertTrue(timer.due(now: 5))
        XCTAssertFalse(timer.probes, "the notification said what the probe would: claim at once")
        timer.burstEnded(.worked, now: 5.01)
        XCTAssertTrue(timer.due(now: 5.01))
        XCTAssertTrue(timer.probes, "before sleeping again, the probe: only it tells until when")
        timer.burstEnded(.foundNothing(nextDueIn: 2), now: 5.02)
        XCTAssertEqual(timer.next, 7.02 + ClaimTimer.slack, accuracy: 1e-9)
        XCTAssertTrue(timer.probes, "a wake at a known run_at probes")
        timer.burstEnded(.foundNothing(nextDueIn: nil), now: 8)
        XCTAssertEqual(timer.next, 38, accuracy: 1e-9)
        XCTAssertTrue(timer.probes, "so does the backstop poll")
    }

    func testTheFirstBurstProbesEvenWhenANotificationCameFirst() {
        var timer = ClaimTimer(pollInterval: 30, now: 0)
        timer.notified(now: 0)
        XCTAssertTrue(timer.probes, "no schema version read yet")
    }

    func testWhatSaysNothingAboutWhatIsDueKeepsTheProbe() {
        var timer = ClaimTimer(pollInterval: 30, now: 0)
        timer.burstEnded(.foundNothing(nextDueIn: nil), now: 1)
        timer.lookAgain(now: 2)
        XCTAssertTrue(timer.due(now: 2))
        XCTAssertTrue(timer.probes, "a reconnect, or jobs due later: the probe learns what and when")
        timer.notified(now: 2.1)
        XCTAssertFalse(timer.probes, "a job due now since: claim at once, the probe follows the burst")
    }

    func testABurstWithoutTheProbeThatClaimedNothingIsFollowedByTheProbeAtOnce() {
        var timer = ClaimTimer(pollInterval: 30, now: 0)
        timer.burstEnded(.foundNothing(nextDueIn: nil), now: 1)
        timer.notified(now: 5)
        timer.burstEnded(.fruitless, now: 5.01)
        XCTAssertTrue(timer.due(now: 5.01), "another listener took the job: the probe tells whether anything else is due")
        XCTAssertTrue(timer.probes)
        timer.burstEnded(.fruitless, now: 5.02)
        XCTAssertFalse(timer.due(now: 5.5), "after the probe saw work it could not claim: within fruitlessRetry, not in a loop")
    }

    func testNoClaimWhileTheCircuitIsOpenWhateverArrives() {
        var timer = ClaimTimer(pollInterval: 30, circuitPause: 30, now: 0)
        timer.burstEnded(.foundNothing(nextDueIn: nil), now: 1)
        timer.burstEnded(.appUnreachable, now: 2)
        timer.notified(now: 3)
        timer.lookAgain(now: 4)
        XCTAssertFalse(timer.due(now: 31.9))
        XCTAssertTrue(timer.probes, "the burst that closes the circuit probes")
    }
}
