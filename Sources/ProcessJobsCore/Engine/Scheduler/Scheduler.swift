import Logging

/// One run's decisions, as a value: events come in (a tick's result, an answer, signals, time
/// passing), actions go out (start a tick, send requests, read a body, cut requests, wait,
/// finish). It owns no socket and reads no clock: every event carries `now` (monotonic seconds),
/// so a test drives whole runs with a fake clock. Each policy is a small type of its own; this
/// type holds the jobs and wires the policies together.
public struct Scheduler: Sendable {
    let settings: RunSettings
    /// The claimed types in a fixed order, for quotas.
    let types: [String]
    let started: Double

    private var random: SplitMix64
    private var pacing: ClaimPacing
    private var records: RecordBatch
    private var stop: StopPolicy
    private var breaker: CircuitBreaker
    private var gates: RouteGates
    private var held: HeldRoutes
    private let budget: BodyBudget

    /// Claimed jobs not yet sent, in order, each with the start of the tick that claimed it.
    private var queue: [(job: ClaimedJob, claimed: Double)] = []
    /// When the job whose body is being read was claimed.
    private var readingClaimed = 0.0
    private var inFlight: [Int: ClaimedJob] = [:]
    private var nextTag = 0
    /// The tick out to the database, with what it carries.
    private var tick: (outcomes: [PendingOutcome], claim: JobStore.Claim?, started: Double)?
    /// A job at the front waits for its body, which needs the connection: no tick starts until it is read.
    private var bodyWaiting = false
    /// Pauses the app asked for, to be written to the shared route state by the next tick.
    private var pauses: [RoutePause] = []
    private var hangupsSeen: Int

    public private(set) var summary = RunSummary()

    /// `hangups`: SIGHUPs already seen before this run (the repeat loop's to act on).
    public init(settings: RunSettings, types: [String], started: Double, hangups: Int = 0) {
        self.settings = settings
        self.types = types.sorted()
        self.started = started
        random = SplitMix64(seed: settings.seed ?? SplitMix64.systemSeed())
        pacing = ClaimPacing(settings: settings)
        records = RecordBatch(batchSize: settings.batchSize, delay: settings.recordDelay)
        stop = StopPolicy(grace: settings.grace)
        breaker = CircuitBreaker(threshold: settings.circuitThreshold)
        gates = RouteGates(localLimits: settings.routeConcurrency, pauseCap: settings.retry.cap)
        budget = BodyBudget(maxInflightBytes: settings.maxInflightBytes, maxPayload: settings.maxPayload)
        held = HeldRoutes(longestWait: settings.heldRecheck)
        hangupsSeen = hangups
    }

    /// Whether a tick is out: the driver watches the database socket while it is.
    public var tickOut: Bool { tick != nil }

    public var inFlightCount: Int { inFlight.count }

    public var stopReason: StopReason? { stop.reason }

    // MARK: Events

    /// The signal counters as they stand now (stop signals, SIGHUPs).
    public mutating func signals(stops: Int, hangups: Int, now: Double) -> [SchedulerAction] {
        var actions: [SchedulerAction] = []
        if hangups > hangupsSeen {
            hangupsSeen = hangups
            actions.append(.log(LogEvent(.notice, "SIGHUP: this run goes on unchanged; in repeat mode (--every) the next run re-reads the token files")))
        }
        let inFlightBefore = inFlight.count
        let effect = stop.signals(stops, now: now)
        if effect.stopped {
            actions.append(.log(LogEvent(.notice, "stop requested: finishing requests in flight, releasing the rest",
                                         ["in_flight": .stringConvertible(inFlightBefore), "grace": .string(DurationText.format(settings.grace))])))
            releaseQueue(now: now)
        }
        if let reason = effect.cut { actions.append(.cutInFlight(reason: reason)) }
        return actions
    }

    /// The tick's result arrived.
    public mutating func tickFinished(_ result: JobStore.TickResult, now: Double) -> [SchedulerAction] {
        guard let (outcomes, request, tickStarted) = tick else { return [] }
        tick = nil
        var actions: [SchedulerAction] = [.log(LogEvent(.debug, "tick", [
            "ms": .string(String(Double(Int((now - tickStarted) * 100_000)) / 100)),
            "recorded": .stringConvertible(result.recorded.count), "claimed": .stringConvertible(result.claimed.count),
            "rescued": .stringConvertible(result.rescued.count),
        ]))]
        actions += OutcomeLog.record(outcomes, written: result.recorded, into: &summary).map { .log($0) }
        // Leases this tick ended free room under a route's concurrency or user cap: ask again
        // at the next claim rather than after the hold's retry interval.
        held.leasesEnded(types: Set(outcomes.map(\.job.type)), now: now)
        for rescued in result.rescued {
            summary.rescued += 1
            actions.append(.log(LogEvent(.warning, "lease expired: counted as a failed attempt", [
                "id": .string(rescued.id), "type": .string(rescued.type),
                "holder": .string(rescued.previousHolder ?? "-"), "status": .string(rescued.status),
                "retry_count": .stringConvertible(rescued.retryCount),
            ])))
        }
        for notified in result.notified {
            actions.append(.log(LogEvent(.info, "failure job queued", [
                "id": .string(notified.id), "type": .string(notified.type), "failed_job": .string(notified.failedJobID),
            ])))
        }
        if let request {
            let (retryAtOnce, throttled) = held.claimReturned(types: request.quotas.map(\.type), reported: result.holds, now: now)
            pacing.claimReturned(got: result.claimed.count, asked: request.limit, retryAtOnce: retryAtOnce)
            for hold in result.holds where hold.held > 0 {
                summary.held[hold.type, default: [:]][hold.reason, default: 0] += hold.held
            }
            for route in throttled {
                actions.append(.log(LogEvent(.warning, "route throttled for over a minute: its due jobs wait for the route's limit", [
                    "type": .string(route.type), "reason": .string(route.reason.rawValue),
                    "for": .string(DurationText.format(route.seconds.rounded())),
                ])))
            }
            summary.claimed += result.claimed.count
            if !stop.isStopping {
                queue.append(contentsOf: result.claimed.map { (job: $0, claimed: tickStarted) })
            } else {
                // A stop came while the claim was out: these jobs go back untouched.
                for job in result.claimed { records.add(PendingOutcome(job: job, outcome: .release(delay: nil)), now: now) }
            }
        }
        // Failure jobs of a type this run claims are due now, and no claim has seen them yet.
        pacing.finished(result.notified.filter { types.contains($0.type) }.count)
        return actions
    }

    /// A request's answer (or its failure) arrived. `wallNow` reads an HTTP-date Retry-After.
    public mutating func answered(tag: Int, exchange: Exchange, seconds: Double, now: Double, wallNow: Double) -> [SchedulerAction] {
        guard let job = inFlight.removeValue(forKey: tag) else { return [] }
        gates.finished(job.type)
        pacing.finished()
        pacing.answerTook(seconds)
        var actions: [SchedulerAction] = []
        let decision = AnswerDecision.decide(exchange, job: job, settings: settings, wallNow: wallNow) { random.nextUnit() }
        if decision.reached == true { breaker.reached() }
        if let status = decision.tokenRejected, stop.request(.tokenRejected(status: status)) { releaseQueue(now: now) }
        if let error = decision.notSent, breaker.notSent(), stop.request(.appUnreachable(error)) { releaseQueue(now: now) }
        if let slowDown = decision.slowDown {
            actions += pauseRoute(job, slowDown: slowDown, outcome: decision.outcome, now: now)
        }
        let status: Int? = if case .response(let response) = exchange { response.status } else { nil }
        records.add(PendingOutcome(job: job, outcome: decision.outcome, httpStatus: status, seconds: seconds), now: now)
        return actions
    }

    /// The body `readBody` asked for: nil when the lease was taken over meanwhile.
    public mutating func bodyRead(_ job: ClaimedJob, body: String?, now: Double) {
        guard let body, !stop.isStopping else {
            // Without a body the lease was taken over: writing the release is fenced out and counted.
            records.add(PendingOutcome(job: job, outcome: .release(delay: nil)), now: now)
            return
        }
        queue.insert((job: job.with(body: body), claimed: readingClaimed), at: 0)
    }

    /// The driver aborted these requests (after `cutInFlight`). They were sent, so the app may
    /// act on them: they go back uncharged and may be sent again (their Idempotency-Key).
    public mutating func cut(tags: [Int], reason: String, now: Double) -> [SchedulerAction] {
        var actions: [SchedulerAction] = []
        for tag in tags {
            guard let job = inFlight.removeValue(forKey: tag) else { continue }
            gates.finished(job.type)
            actions.append(.log(LogEvent(.warning, "request cut: \(reason); the job is released and may be sent again",
                                         ["id": .string(job.id)])))
            records.add(PendingOutcome(job: job, outcome: .release(delay: nil)), now: now)
        }
        stop.cutDone()
        return actions
    }

    /// Listen mode: a notification said a job became due; the next claim goes out as soon as
    /// there is room, without the idle interval a short claim otherwise waits.
    public mutating func notified() {
        pacing.notified()
    }

    /// The connection was lost with a tick out (listen mode, which reconnects): its outcomes wait
    /// again, to go with the first tick after the reconnect, where the lease fences out any whose
    /// job was rescued meanwhile. A claim it carried counts as having found nothing here, but not
    /// as short: jobs it may have taken stay leased until the lease brings them back.
    public mutating func tickLost(now: Double) {
        guard let lost = tick else { return }
        tick = nil
        for outcome in lost.outcomes { records.add(outcome, now: now) }
        if let claim = lost.claim { pacing.claimReturned(got: 0, asked: claim.limit, retryAtOnce: true) }
    }

    /// The database failed: the ids of jobs whose outcome will not be written (they stay
    /// leased), given the tags of the requests the driver cut.
    public func unwritten(cut tags: [Int]) -> [String] {
        (tick?.outcomes ?? []).map(\.job.id) + records.outcomes.map(\.job.id) + tags.compactMap { inFlight[$0]?.id }
    }

    // MARK: Deciding

    /// What to do now: start a tick, send requests, then wait, read a body, or finish.
    public mutating func next(now: Double) -> [SchedulerAction] {
        var actions: [SchedulerAction] = []
        if let reason = stop.graceOver(now: now) {
            guard inFlight.isEmpty else { return [.cutInFlight(reason: reason)] }
            stop.cutDone()
        }
        if !stop.isStopping, let maxRuntime = settings.maxRuntime, now - started >= maxRuntime, queue.isEmpty {
            _ = stop.request(.maxRuntime)
        }
        if tick == nil && !bodyWaiting {
            let claim = wantsClaim(now: now)
            if claim || records.isDue(now: now, nothingInFlight: inFlight.isEmpty) {
                actions.append(startTick(claim: claim, now: now))
            }
        }
        if let read = dispatch(now: now, into: &actions) {
            actions.append(.readBody(read))
            return actions
        }
        if tick == nil && inFlight.isEmpty && queue.isEmpty && records.isEmpty && !(mayFindWork(now: now) && !quotas(now: now).isEmpty) {
            actions.append(ending(now: now))
            return actions
        }
        actions.append(.wait(until: wake(now: now)))
        return actions
    }

    /// Nothing is left to do now: finish, or wait for a held route whose gate opens before
    /// --max-runtime ends (with --once, no waiting). A paused route is not waited for: the app
    /// (or an operator) asked for quiet, and the next run finds the route as the pause left it.
    private func ending(now: Double) -> SchedulerAction {
        if let reason = stop.reason { return .finish(reason) }
        if let hold = held.earliest(after: now, excluding: .paused) {
            let nextDue = StopReason.rateLimited(nextDueIn: hold.until - now)
            if settings.once {
                if hold.timed && summary.claimed == 0 { return .finish(nextDue) }
            } else if settings.maxRuntime.map({ hold.until < started + $0 }) ?? true {
                return .wait(until: min(hold.until, now + 1))
            } else {
                return .finish(hold.timed ? nextDue : .maxRuntime)
            }
        }
        return .finish(settings.once && pacing.claimsMade > 0 ? .onceDone : .drained)
    }

    private func mayFindWork(now: Double) -> Bool {
        // Past --max-runtime nothing more is claimed, even while claimed jobs still wait to go.
        guard !stop.isStopping, settings.maxRuntime.map({ now - started < $0 }) ?? true else { return false }
        return pacing.mayFindWork || (!settings.once && held.anyOpen(now: now))
    }

    private func wantsClaim(now: Double) -> Bool {
        guard mayFindWork(now: now) else { return false }
        return pacing.wantsClaim(now: now, inFlight: inFlight.count, queued: queue.count) && !quotas(now: now).isEmpty
    }

    /// Per type, how many jobs a claim may take: paused and held routes none.
    private func quotas(now: Double) -> [(type: String, quota: Int)] {
        let limit = pacing.limit(inFlight: inFlight.count, queued: queue.count)
        return types.compactMap { type in
            if held.isHeld(type, now: now) { return nil }
            let quota = gates.quota(type, limit: limit, now: now)
            return quota > 0 ? (type: type, quota: quota) : nil
        }
    }

    /// The tick: the outcomes gathered so far, the pauses to share and, when `claim`, a rescue and claim.
    private mutating func startTick(claim: Bool, now: Double) -> SchedulerAction {
        var request: JobStore.Claim?
        if claim {
            let holding = queue.reduce(0) { $0 + budget.held($1.job) } + inFlight.values.reduce(0) { $0 + budget.held($1) }
            let (bytes, alone) = budget.claim(holding: holding)
            request = JobStore.Claim(limit: pacing.limit(inFlight: inFlight.count, queued: queue.count), quotas: quotas(now: now),
                                     lease: settings.lease, rescue: pacing.rescues, budget: bytes, alone: alone,
                                     maxPayload: settings.maxPayload, backoff: settings.retry, limits: settings.limits,
                                     fairBy: settings.fairBy, userConcurrency: settings.userConcurrency)
            pacing.claimSent(now: now)
        }
        let outcomes = records.take()
        let shared = pauses
        pauses = []
        tick = (outcomes, request, now)
        return .tick(outcomes: outcomes, claim: request, pauses: shared)
    }

    /// Sends what may go: in order, up to --concurrency, each route within its gates. Returns a
    /// job whose body must be read first (the connection is free).
    private mutating func dispatch(now: Double, into actions: inout [SchedulerAction]) -> ClaimedJob? {
        var skipped: [(job: ClaimedJob, claimed: Double)] = []
        var toRead: ClaimedJob?
        bodyWaiting = false
        var index = 0
        while inFlight.count < settings.concurrency, index < queue.count, !stop.isStopping {
            let (job, claimed) = queue[index]
            index += 1
            guard pacing.maySend(claimedAt: claimed, now: now) else {
                // Its lease could no longer cover a request: back untouched, for a later claim.
                records.add(PendingOutcome(job: job, outcome: .release(delay: nil)), now: now)
                continue
            }
            if let until = gates.paused(job.type, now: now) {
                records.add(PendingOutcome(job: job, outcome: .release(delay: until.isFinite ? until - now : nil)), now: now)
                continue
            }
            if !gates.hasRoom(job.type) {
                skipped.append((job: job, claimed: claimed))
                continue
            }
            guard types.contains(job.type) else {
                // Not a type this run routes (the claim asks for none): back untouched.
                records.add(PendingOutcome(job: job, outcome: .release(delay: nil)), now: now)
                continue
            }
            if let error = job.unsendable(maxPayload: settings.maxPayload) {
                records.add(PendingOutcome(job: job, outcome: .fail(error: error)), now: now)
                continue
            }
            guard job.body != nil else {
                // Too big to come with the claim: read while no statement is out.
                if tick == nil {
                    toRead = job
                    readingClaimed = claimed
                    break
                }
                bodyWaiting = true
                skipped.append((job: job, claimed: claimed))
                continue
            }
            let tag = nextTag
            nextTag += 1
            // The request holds the body; the job in flight keeps only its size.
            inFlight[tag] = job.with(body: nil)
            gates.started(job.type)
            actions.append(.send(job, tag: tag))
        }
        // Jobs held back by a route limit keep their place at the front of the queue.
        queue.replaceSubrange(0..<index, with: skipped)
        return toRead
    }

    /// The app said "too many" or "not now" for this route: this run sends it nothing more until
    /// its Retry-After has passed (without one, for the rest of the run), and every runner holds
    /// off through the shared route state (for the Retry-After, else the job's backoff). Jobs of
    /// that type not yet sent go back uncharged, due when the app said it would be ready.
    private mutating func pauseRoute(_ job: ClaimedJob, slowDown: AnswerDecision.SlowDown, outcome: Outcome,
                                     now: Double) -> [SchedulerAction] {
        let seconds = gates.pauseLength(retryAfter: slowDown.retryAfter)
        guard gates.pause(job.type, for: seconds, now: now) else { return [] }
        summary.pausedTypes.insert(job.type)
        let shared: Double
        if let seconds {
            shared = seconds
        } else if case .retry(_, let delay) = outcome {
            shared = delay
        } else {
            shared = settings.retry.delay(failedAttempts: job.retryCount + 1, retryAfter: nil, random: random.nextUnit())
        }
        pauses.removeAll { $0.type == job.type }
        pauses.append(RoutePause(type: job.type, seconds: shared, reason: "HTTP \(slowDown.status) from the app"))
        var kept: [(job: ClaimedJob, claimed: Double)] = []
        for queued in queue {
            if queued.job.type == job.type {
                records.add(PendingOutcome(job: queued.job, outcome: .release(delay: seconds)), now: now)
            } else {
                kept.append(queued)
            }
        }
        queue = kept
        return [.log(LogEvent(.warning, "route paused: the app asked to slow down", [
            "type": .string(job.type), "http": .stringConvertible(slowDown.status),
            "for": .string(seconds.map { DurationText.format($0) } ?? "the rest of the run"),
        ]))]
    }

    /// Gives back every job not yet sent, untouched (the run is stopping).
    private mutating func releaseQueue(now: Double) {
        for queued in queue { records.add(PendingOutcome(job: queued.job, outcome: .release(delay: nil)), now: now) }
        queue = []
    }

    /// The next time something is due without an event: at most a second away.
    private func wake(now: Double) -> Double {
        var deadline = now + 1
        if tick == nil {
            if let due = records.wake { deadline = min(deadline, due) }
            if let due = pacing.wake { deadline = min(deadline, due) }
            if let hold = held.earliest(after: now), !stop.isStopping { deadline = min(deadline, hold.until) }
        }
        if let grace = stop.graceDeadline { deadline = min(deadline, grace) }
        return max(now, deadline)
    }

    // MARK: Reporting

    /// Routes paused at `now`, by the app's answers or the shared route state.
    public func pausedRoutes(now: Double) -> Set<String> {
        gates.pausedTypes(now: now).union(held.pausedTypes(now: now))
    }

    public func progress(now: Double) -> RunProgress {
        RunProgress(claimed: summary.claimed, completed: summary.completed, retried: summary.retried,
                    failed: summary.failed, released: summary.released, inFlight: inFlight.count, seconds: now)
    }
}
