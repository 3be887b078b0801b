import XCTest
@testable import ProcessJobsCore

final class ClaimPacingTests: XCTestCase {
    private func pacing(batch: Int = 50, concurrency: Int = 16, once: Bool = false,
                        requestTimeout: Double = 120) -> ClaimPacing {
        ClaimPacing(settings: SchedulerFixtures.settings {
            $0.batchSize = batch
            $0.concurrency = concurrency
            $0.once = once
            $0.requestTimeout = requestTimeout
            $0.lease = RunSettings.defaultLease(requestTimeout: requestTimeout)
        })
    }

    func testUntilAnAnswerIsSeenLimitIsAtMostTwoRoundsOfConcurrencyLessWhatIsHeld() {
        let pacing = pacing(batch: 50, concurrency: 16)
        XCTAssertEqual(pacing.limit(inFlight: 0, queued: 0), 32)
        XCTAssertEqual(pacing.limit(inFlight: 16, queued: 10), 6)
        XCTAssertEqual(pacing.limit(inFlight: 16, queued: 20), 0)
        XCTAssertEqual(self.pacing(batch: 5, concurrency: 16).limit(inFlight: 0, queued: 0), 5)
    }

    func testClaimsBeforeTheQueueRunsDryOnceHalfARoundIsFree() {
        let pacing = pacing(batch: 50, concurrency: 16)
        XCTAssertTrue(pacing.wantsClaim(now: 0, inFlight: 16, queued: 8), "8 free of 32: half a round of 16")
        XCTAssertFalse(pacing.wantsClaim(now: 0, inFlight: 16, queued: 9), "7 free: wait")
    }

    func testANotificationAfterAShortClaimClaimsAtOnce() {
        var pacing = pacing()
        pacing.claimSent(now: 10)
        pacing.claimReturned(got: 1, asked: 32, retryAtOnce: false)
        XCTAssertFalse(pacing.mayFindWork)
        XCTAssertFalse(pacing.wantsClaim(now: 10.01, inFlight: 1, queued: 0), "short claim, request in flight: the idle interval")
        pacing.notified()
        XCTAssertTrue(pacing.mayFindWork)
        XCTAssertTrue(pacing.wantsClaim(now: 10.01, inFlight: 1, queued: 0), "a job became due: no idle interval")
        pacing.claimSent(now: 10.02)
        pacing.claimReturned(got: 1, asked: 31, retryAtOnce: false)
        XCTAssertFalse(pacing.wantsClaim(now: 10.03, inFlight: 2, queued: 0), "the notification was used up by that claim")
    }

    func testAfterAShortClaimWaitsForAnAnswerAndThenTheIdleInterval() {
        var pacing = pacing()
        XCTAssertTrue(pacing.rescues)
        pacing.claimSent(now: 10)
        XCTAssertFalse(pacing.rescues, "only the first claim rescues")
        pacing.claimReturned(got: 3, asked: 32, retryAtOnce: false)
        XCTAssertFalse(pacing.mayFindWork, "nothing answered since a short claim")
        XCTAssertNil(pacing.wake)
        pacing.finished()
        XCTAssertTrue(pacing.mayFindWork)
        XCTAssertEqual(pacing.wake, 10.25)
        XCTAssertFalse(pacing.wantsClaim(now: 10.1, inFlight: 2, queued: 0), "requests in flight: wait the idle interval")
        XCTAssertTrue(pacing.wantsClaim(now: 10.25, inFlight: 2, queued: 0))
        XCTAssertTrue(pacing.wantsClaim(now: 10.1, inFlight: 0, queued: 0), "nothing in flight: no reason to wait")
    }

    func testAFullClaimOrAContendedOneMayBeFollowedAtOnce() {
        var pacing = pacing()
        pacing.claimSent(now: 0)
        pacing.claimReturned(got: 32, asked: 32, retryAtOnce: false)
        XCTAssertTrue(pacing.mayFindWork)
        pacing.claimSent(now: 1)
        pacing.claimReturned(got: 0, asked: 32, retryAtOnce: true)
        XCTAssertTrue(pacing.mayFindWork, "another runner held the route's lock: ask again")
    }

    func testOnceClaimsOneBatchOnly() {
        var pacing = pacing(once: true)
        XCTAssertTrue(pacing.mayFindWork)
        pacing.claimSent(now: 0)
        pacing.claimReturned(got: 32, asked: 32, retryAtOnce: false)
        pacing.finished(5)
        XCTAssertFalse(pacing.mayFindWork)
    }

    func testOnceClaimsAgainWhenItsClaimWasContended() {
        var pacing = pacing(once: true)
        pacing.claimSent(now: 0)
        pacing.claimReturned(got: 0, asked: 32, retryAtOnce: true)
        XCTAssertTrue(pacing.mayFindWork, "the route was held by another runner: that was not the one claim")
        pacing.claimSent(now: 0.01)
        pacing.claimReturned(got: 2, asked: 32, retryAtOnce: false)
        XCTAssertFalse(pacing.mayFindWork)
    }

    func testFastAnswersLetTheQueueHoldMoreRoundsUpToAboutABatch() {
        var pacing = pacing(batch: 50, concurrency: 16)
        pacing.answerTook(0.002)
        XCTAssertEqual(pacing.rounds, 5, "ceil(50 / 16) + 1 rounds at most")
        XCTAssertEqual(pacing.limit(inFlight: 16, queued: 0), 50, "a whole batch while 16 are in flight")
        XCTAssertEqual(pacing.limit(inFlight: 16, queued: 60), 20)
    }

    func testTheSlowestAnswerSoFarSetsTheRounds() {
        var pacing = pacing(batch: 200, concurrency: 16)
        pacing.answerTook(0.01)
        XCTAssertEqual(pacing.rounds, 14)
        pacing.answerTook(45)
        XCTAssertEqual(pacing.rounds, 2, "twice 45 s fits twice into the lease's 180 s for waiting")
        pacing.answerTook(0.01)
        XCTAssertEqual(pacing.rounds, 2, "a fast answer after a slow one does not widen the queue again")
        pacing.answerTook(120)
        XCTAssertEqual(pacing.rounds, 1, "never less than one round")
    }

    func testAJobIsSentOnlyWhileItsLeaseCanStillCoverARequest() {
        let pacing = pacing(requestTimeout: 10)  // lease 80 s: 70 s of it for waiting
        XCTAssertTrue(pacing.maySend(claimedAt: 100, now: 100))
        XCTAssertTrue(pacing.maySend(claimedAt: 100, now: 170))
        XCTAssertFalse(pacing.maySend(claimedAt: 100, now: 170.5))
    }
}
