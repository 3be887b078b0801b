import XCTest
@testable import ProcessJobsCore

/// Whole runs through the scheduler with a fake clock: no database, no app, no wall clock.
final class SchedulerTests: XCTestCase {
    private typealias F = SchedulerFixtures
    private let types = ["generate-image", "generate-aplus"]

    private func scheduler(_ change: (inout RunSettings) -> Void = { _ in }) -> Scheduler {
        Scheduler(settings: F.settings(change), types: types, started: 0)
    }

    /// Answers every request in `actions` with `status` at `now`.
    private func answerAll(_ scheduler: inout Scheduler, _ actions: [SchedulerAction], status: Int = 200, now: Double) {
        for (_, tag) in actions.sent {
            _ = scheduler.answered(tag: tag, exchange: F.answer(status), seconds: 0.01, now: now, wallNow: 0)
        }
    }

    func testDrainsClaimSendRecordThenFinishes() throws {
        var scheduler = scheduler()
        let first = scheduler.next(now: 0)
        let claim = try XCTUnwrap(first.claims.first)
        XCTAssertTrue(claim.rescue, "the first claim rescues expired leases")
        XCTAssertEqual(claim.limit, 32)
        XCTAssertEqual(claim.quotas.map(\.type), types.sorted())
        XCTAssertEqual(claim.fairBy, .user)
        XCTAssertTrue(scheduler.tickOut)
        XCTAssertTrue(scheduler.next(now: 0.01).ticks.isEmpty, "one tick at a time")

        _ = scheduler.tickFinished(F.claimed(F.jobs(2)), now: 0.02)
        let sending = scheduler.next(now: 0.02)
        XCTAssertEqual(sending.sent.map(\.job.id), ["generate-image-0", "generate-image-1"])
        XCTAssertNotNil(sending.wake)
        answerAll(&scheduler, sending, now: 0.5)

        let recording = scheduler.next(now: 0.5)
        let tick = try XCTUnwrap(recording.ticks.first)
        XCTAssertEqual(tick.outcomes.map(\.outcome), [.complete(result: "{}"), .complete(result: "{}")])
        XCTAssertNotNil(tick.claim, "answers came since the short claim: look again")
        XCTAssertFalse(tick.claim!.rescue)
        let logs = scheduler.tickFinished(F.recorded(tick.outcomes), now: 0.6).logs
        XCTAssertEqual(logs.filter { $0.message == "job completed" }.count, 2)
        XCTAssertEqual(scheduler.next(now: 0.6).finished, .drained)
        XCTAssertEqual(scheduler.summary.completed, 2)
        XCTAssertEqual(scheduler.summary.byType["generate-image"]?[.completed], 2)
    }

    /// A job that waited in the queue until its lease could no longer cover a request goes back
    /// unsent (released, uncharged), whatever the answers before it promised.
    func testAQueuedJobWhoseLeaseCannotCoverARequestIsReleasedUnsent() throws {
        var scheduler = scheduler {
            $0.concurrency = 1
            $0.requestTimeout = 10
            $0.lease = 20
        }
        let claim = try XCTUnwrap(scheduler.next(now: 0).claims.first)
        XCTAssertEqual(claim.limit, 2, "one round in flight, one queued, until an answer is seen")
        _ = scheduler.tickFinished(F.claimed(F.jobs(2)), now: 0.01)
        let first = scheduler.next(now: 0.01)
        XCTAssertEqual(first.sent.map(\.job.id), ["generate-image-0"])
        // The first request takes the whole timeout: the second job's lease has under 10 s left.
        let (_, tag) = try XCTUnwrap(first.sent.first)
        _ = scheduler.answered(tag: tag, exchange: F.answer(200), seconds: 10.5, now: 10.5, wallNow: 0)
        let after = scheduler.next(now: 10.5)
        XCTAssertTrue(after.sent.isEmpty, "not sent: its lease would end during its request")
        let completed = try XCTUnwrap(after.ticks.first)
        _ = scheduler.tickFinished(F.recorded(completed.outcomes), now: 10.6)
        let release = try XCTUnwrap(scheduler.next(now: 10.7).ticks.first)
        XCTAssertEqual(release.outcomes.map(\.job.id), ["generate-image-1"])
        XCTAssertEqual(release.outcomes.first?.outcome, .release(delay: nil))
    }

    /// Listen mode: the connection lost with a tick out; its outcomes go with the next tick.
    func testALostTickKeepsItsOutcomesForTheNextOne() throws {
        var scheduler = scheduler()
        _ = scheduler.next(now: 0)
        _ = scheduler.tickFinished(F.claimed(F.jobs(2)), now: 0)
        answerAll(&scheduler, scheduler.next(now: 0), now: 1)
        let lost = try XCTUnwrap(scheduler.next(now: 1).ticks.first)
        XCTAssertEqual(lost.outcomes.count, 2)
        scheduler.tickLost(now: 2)
        XCTAssertFalse(scheduler.tickOut)
        let again = try XCTUnwrap(scheduler.next(now: 3).ticks.first, "the outcomes are due again")
        XCTAssertEqual(again.outcomes.map(\.job.id), lost.outcomes.map(\.job.id))
        XCTAssertNotNil(again.claim, "the lost claim found nothing as far as the run knows: look again")
        _ = scheduler.tickFinished(F.recorded(again.outcomes), now: 3.1)
        XCTAssertEqual(scheduler.summary.completed, 2)
    }

    func testAnOutcomeTheDatabaseRefusedIsALostLease() {
        var scheduler = scheduler()
        _ = scheduler.next(now: 0)
        _ = scheduler.tickFinished(F.claimed(F.jobs(1)), now: 0)
        answerAll(&scheduler, scheduler.next(now: 0), now: 1)
        let tick = scheduler.next(now: 1)
        XCTAssertEqual(tick.ticks.count, 1)
        let logs = scheduler.tickFinished(JobStore.TickResult(), now: 1.1).logs
        XCTAssertTrue(logs.contains { $0.message.hasPrefix("outcome not recorded") })
        XCTAssertEqual(scheduler.summary.leaseLost, 1)
    }

    func testConcurrencyAndTheLocalRouteCap() {
        var scheduler = scheduler {
            $0.concurrency = 3
            $0.routeConcurrency = ["generate-image": 1]
        }
        _ = scheduler.next(now: 0)
        _ = scheduler.tickFinished(F.claimed(F.jobs(2) + F.jobs(3, type: "generate-aplus")), now: 0)
        let sent = scheduler.next(now: 0).sent.map(\.job.id)
        XCTAssertEqual(sent, ["generate-image-0", "generate-aplus-0", "generate-aplus-1"],
                       "one image at a time; the held one keeps its place; three in all")
        XCTAssertEqual(scheduler.inFlightCount, 3)
    }

    func testTooManyMidBatchPausesTheRouteHereAndForEveryRunner() throws {
        var scheduler = scheduler { $0.concurrency = 1 }
        _ = scheduler.next(now: 0)
        _ = scheduler.tickFinished(F.claimed(F.jobs(3) + F.jobs(1, type: "generate-aplus")), now: 0)
        let first = scheduler.next(now: 0).sent
        XCTAssertEqual(first.map(\.job.id), ["generate-image-0"])
        let logs = scheduler.answered(tag: first[0].tag, exchange: F.answer(429, retryAfter: "5"), seconds: 0.1, now: 1, wallNow: 0).logs
        XCTAssertEqual(logs.first?.message, "route paused: the app asked to slow down")
        XCTAssertEqual(scheduler.summary.pausedTypes, ["generate-image"])

        let next = scheduler.next(now: 1)
        XCTAssertEqual(next.sent.map(\.job.id), ["generate-aplus-0"], "other routes go on")
        let tick = try XCTUnwrap(next.ticks.first)
        XCTAssertEqual(tick.pauses, [RoutePause(type: "generate-image", seconds: 5, reason: "HTTP 429 from the app")])
        XCTAssertEqual(tick.outcomes.map(\.job.id), ["generate-image-1", "generate-image-2", "generate-image-0"])
        XCTAssertEqual(tick.outcomes.map(\.outcome), [.release(delay: 5), .release(delay: 5), .retry(error: "HTTP 429: {}", delay: 5)])
        XCTAssertFalse(tick.claim?.quotas.contains { $0.type == "generate-image" } ?? false, "a paused route is not claimed")
        XCTAssertEqual(scheduler.pausedRoutes(now: 2), ["generate-image"])
        XCTAssertEqual(scheduler.pausedRoutes(now: 6), [])
    }

    func testWithoutRetryAfterTheSharedPauseIsTheBackoff() throws {
        var scheduler = scheduler()
        _ = scheduler.next(now: 0)
        _ = scheduler.tickFinished(F.claimed(F.jobs(1)), now: 0)
        let sent = scheduler.next(now: 0).sent
        _ = scheduler.answered(tag: sent[0].tag, exchange: F.answer(503), seconds: 0.1, now: 1, wallNow: 0)
        let tick = try XCTUnwrap(scheduler.next(now: 1).ticks.first)
        guard case .retry(_, let delay) = tick.outcomes[0].outcome else { return XCTFail("\(tick.outcomes)") }
        XCTAssertEqual(tick.pauses.map(\.seconds), [delay])
        XCTAssertEqual(scheduler.pausedRoutes(now: 1e6), ["generate-image"], "paused here for the rest of the run")
    }

    func testTwoSignalsInOneTurnNeverLetTheRunClaimAgain() throws {
        var scheduler = scheduler()
        _ = scheduler.next(now: 0)
        _ = scheduler.tickFinished(F.claimed(F.jobs(20)), now: 0)
        let sent = scheduler.next(now: 0).sent
        XCTAssertEqual(sent.count, 16)
        answerAll(&scheduler, sent.prefix(10).map { .send($0.job, tag: $0.tag) }, now: 1)
        // A claim goes out while requests run, then two signals come in the same turn.
        let refill = scheduler.next(now: 1)
        let tick = try XCTUnwrap(refill.ticks.first)
        XCTAssertNotNil(tick.claim)
        let inFlight = (sent.dropFirst(10) + refill.sent).map(\.tag)
        XCTAssertEqual(inFlight.count, 10)
        let signals = scheduler.signals(stops: 2, hangups: 0, now: 1.1)
        XCTAssertEqual(signals.cuts, ["a second stop signal arrived"])
        XCTAssertEqual(signals.logs.first?.message, "stop requested: finishing requests in flight, releasing the rest")
        XCTAssertEqual(scheduler.cut(tags: inFlight, reason: "a second stop signal arrived", now: 1.1).logs.count, 10)
        // The claim that was out comes back: its jobs go back untouched, and no claim follows.
        var late = F.recorded(tick.outcomes)
        late.claimed = F.jobs(5, from: 100)
        _ = scheduler.tickFinished(late, now: 1.2)
        var claims = 0
        var now = 1.2
        var finished: StopReason?
        while finished == nil, now < 5 {
            let actions = scheduler.next(now: now)
            claims += actions.claims.count
            XCTAssertTrue(actions.sent.isEmpty)
            if let tick = actions.ticks.first { _ = scheduler.tickFinished(F.recorded(tick.outcomes), now: now) }
            finished = actions.finished
            now += 0.1
        }
        XCTAssertEqual(claims, 0)
        XCTAssertEqual(finished, .signal)
        XCTAssertEqual(scheduler.summary.completed, 10)
        XCTAssertEqual(scheduler.summary.released, 15, "cut and late-claimed jobs released")
    }

    func testGraceEndsThenRequestsAreCut() {
        var scheduler = scheduler { $0.grace = 5 }
        _ = scheduler.next(now: 0)
        _ = scheduler.tickFinished(F.claimed(F.jobs(2)), now: 0)
        let tags = scheduler.next(now: 0).sent.map(\.tag)
        _ = scheduler.signals(stops: 1, hangups: 0, now: 1)
        XCTAssertEqual(scheduler.next(now: 1).wake, 2, "wakes within a second, and by the grace's end")
        XCTAssertEqual(scheduler.next(now: 5.5).wake, 6)
        XCTAssertEqual(scheduler.next(now: 6).cuts, ["the shutdown grace period ended"])
        _ = scheduler.cut(tags: tags, reason: "the shutdown grace period ended", now: 6)
        let tick = scheduler.next(now: 6)
        XCTAssertEqual(tick.ticks.first?.outcomes.map(\.outcome), [.release(delay: nil), .release(delay: nil)])
        XCTAssertNil(tick.ticks.first?.claim)
    }

    func testTheCircuitBreakerStopsTheRunAsUnreachable() {
        var scheduler = scheduler()
        _ = scheduler.next(now: 0)
        _ = scheduler.tickFinished(F.claimed(F.jobs(5)), now: 0)
        let sent = scheduler.next(now: 0).sent
        for (_, tag) in sent.prefix(3) {
            _ = scheduler.answered(tag: tag, exchange: F.unsent, seconds: 0, now: 1, wallNow: 0)
        }
        XCTAssertEqual(scheduler.stopReason, .appUnreachable("connection refused"))
        for (_, tag) in sent.dropFirst(3) {
            _ = scheduler.answered(tag: tag, exchange: F.answer(200), seconds: 0, now: 1, wallNow: 0)
        }
        let tick = scheduler.next(now: 1)
        XCTAssertNil(tick.ticks.first?.claim)
        _ = scheduler.tickFinished(F.recorded(tick.ticks[0].outcomes), now: 1)
        XCTAssertEqual(scheduler.next(now: 1).finished, .appUnreachable("connection refused"))
    }

    func testTokenRejectedStopsAndReleasesWhatIsQueued() {
        var scheduler = scheduler { $0.concurrency = 1 }
        _ = scheduler.next(now: 0)
        _ = scheduler.tickFinished(F.claimed(F.jobs(3)), now: 0)
        let sent = scheduler.next(now: 0).sent
        _ = scheduler.answered(tag: sent[0].tag, exchange: F.answer(401), seconds: 0, now: 1, wallNow: 0)
        let tick = scheduler.next(now: 1)
        XCTAssertEqual(tick.ticks.first?.outcomes.count, 3)
        XCTAssertEqual(scheduler.stopReason, .tokenRejected(status: 401))
    }

    func testASlowDatabaseHoldsRecordingAndClaimingButNotRequests() {
        var scheduler = scheduler { $0.concurrency = 2 }
        _ = scheduler.next(now: 0)
        _ = scheduler.tickFinished(F.claimed(F.jobs(4)), now: 0)
        var sent = scheduler.next(now: 0).sent
        answerAll(&scheduler, sent.map { .send($0.job, tag: $0.tag) }, now: 1)
        let ticking = scheduler.next(now: 1)
        XCTAssertEqual(ticking.ticks.count, 1)
        sent = ticking.sent
        XCTAssertEqual(sent.count, 2, "requests go on while the tick is out")
        answerAll(&scheduler, sent.map { .send($0.job, tag: $0.tag) }, now: 2)
        for second in stride(from: 2.0, to: 30, by: 0.5) {
            XCTAssertTrue(scheduler.next(now: second).ticks.isEmpty, "nothing more until the database answers")
        }
    }

    func testMaxRuntimeEndsClaimingButFinishesWhatIsQueued() {
        var scheduler = scheduler {
            $0.maxRuntime = 10
            $0.concurrency = 1
            $0.batchSize = 2
        }
        _ = scheduler.next(now: 0)
        _ = scheduler.tickFinished(F.claimed(F.jobs(2)), now: 0)
        var now = 11.0
        var claims = 0
        var finished: StopReason?
        while finished == nil, now < 20 {
            let actions = scheduler.next(now: now)
            claims += actions.claims.count
            answerAll(&scheduler, actions, now: now)
            if let tick = actions.ticks.first { _ = scheduler.tickFinished(F.recorded(tick.outcomes), now: now) }
            finished = actions.finished
            now += 0.5
        }
        XCTAssertEqual(claims, 0, "no claim after --max-runtime, even while jobs are queued")
        XCTAssertEqual(finished, .maxRuntime)
        XCTAssertEqual(scheduler.summary.completed, 2)
    }

    func testABigBodyIsReadWhileNoTickIsOut() {
        var scheduler = scheduler()
        _ = scheduler.next(now: 0)
        _ = scheduler.tickFinished(F.claimed([F.job("big", body: nil, bodySize: 100_000)]), now: 0)
        let reading = scheduler.next(now: 0)
        XCTAssertEqual(reading.bodyToRead?.id, "big")
        scheduler.bodyRead(F.job("big", body: nil, bodySize: 100_000), body: "{\"x\":1}", now: 0)
        let sending = scheduler.next(now: 0)
        XCTAssertEqual(sending.sent.first?.job.body, "{\"x\":1}")
    }

    func testABodyWhoseLeaseWasTakenOverIsReleased() {
        var scheduler = scheduler()
        _ = scheduler.next(now: 0)
        _ = scheduler.tickFinished(F.claimed([F.job("big", body: nil, bodySize: 100_000)]), now: 0)
        _ = scheduler.next(now: 0)
        scheduler.bodyRead(F.job("big", body: nil, bodySize: 100_000), body: nil, now: 0)
        XCTAssertEqual(scheduler.next(now: 0).ticks.first?.outcomes.map(\.outcome), [.release(delay: nil)])
    }

    func testTheClaimBudgetIsWhatTheRunDoesNotHold() throws {
        var scheduler = scheduler {
            $0.maxInflightBytes = 1000
            $0.concurrency = 1
            $0.batchSize = 2
        }
        _ = scheduler.next(now: 0)
        _ = scheduler.tickFinished(F.claimed([F.job("a", bodySize: 300), F.job("b", bodySize: 200)]), now: 0)
        let actions = scheduler.next(now: 0)
        answerAll(&scheduler, actions, now: 1)
        let claim = try XCTUnwrap(scheduler.next(now: 1).claims.first)
        XCTAssertEqual(claim.budget, 800, "b is still queued")
        XCTAssertFalse(claim.alone)
    }

    func testUnsendablePayloadsFailUnsent() {
        var scheduler = scheduler()
        _ = scheduler.next(now: 0)
        let array = ClaimedJob(id: "x", type: "generate-image", retryCount: 0, maxRetries: 3, claimedAt: "t",
                               previousProcessedAt: nil, body: nil, payloadType: "array")
        _ = scheduler.tickFinished(F.claimed([array]), now: 0)
        XCTAssertTrue(scheduler.next(now: 0).sent.isEmpty)
        let actions = scheduler.next(now: 0.01)
        guard case .fail = actions.ticks.first?.outcomes.first?.outcome else { return XCTFail("\(actions)") }
    }
}
