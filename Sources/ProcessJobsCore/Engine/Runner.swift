import Logging
import PostgresClient

/// One run: rescue → claim → dispatch → record, until nothing is due, time is up, or a stop.
/// Single-threaded: the transport multiplexes requests, and one tick statement at a time is out
/// to the database while requests go on, so HTTP and the database work side by side.
public final class Runner {
    private let store: JobStore
    private let transport: any Transport
    private let settings: RunSettings
    /// Job type to full URL, for the types this run claims.
    private let targets: [String: String]
    /// The claimed types in a fixed order, for quotas (computed once: the loop asks every turn).
    private let types: [String]
    private let credentials: Credentials
    private let stop: StopSignal?
    private let log: Logger
    private let clock: MonotonicClock
    private var random: SplitMix64
    private let observer: (RunProgress) -> Void

    private var queue: [ClaimedJob] = []
    private var queueHead = 0
    private var inFlight: [Int: (job: ClaimedJob, started: Double)] = [:]
    private var inFlightByType: [String: Int] = [:]
    private var nextTag = 0
    private var unrecorded: [PendingOutcome] = []
    private var oldestUnrecorded = 0.0
    private var summary = RunSummary()
    private var stopReason: StopReason?
    private var signalsSeen = 0
    /// SIGHUPs before this run were the repeat loop's to act on.
    private var hangupsSeen: Int
    private var graceDeadline: Double?
    private var unsentInARow = 0
    /// Routes the app asked to slow down (429, 502, 503, 504), until a monotonic time (infinity: this run).
    private var pausedUntil: [String: Double] = [:]

    // Claim pacing: see RunSettings.idleClaimInterval.
    private var claimsMade = 0
    private var lastClaimShort = false
    private var lastClaimTime = 0.0
    private var finishedSinceClaim = 0
    /// The tick statement out to the database, with what it carries.
    private var pendingTick: (outcomes: [PendingOutcome], claim: JobStore.Claim?, started: Double)?
    /// A job at the front waits for its body to be read, which needs the connection: no new
    /// tick starts until it is read.
    private var bodyWaiting = false

    public init(store: JobStore, transport: any Transport, settings: RunSettings, targets: [String: String],
                credentials: Credentials, stop: StopSignal?, log: Logger, observer: @escaping (RunProgress) -> Void = { _ in }) {
        self.store = store
        self.transport = transport
        self.settings = settings
        self.targets = targets
        self.types = targets.keys.sorted()
        self.credentials = credentials
        self.stop = stop
        self.hangupsSeen = stop?.hangups() ?? 0
        self.log = log
        self.clock = MonotonicClock()
        self.random = SplitMix64(seed: settings.seed ?? SplitMix64.systemSeed())
        self.observer = observer
    }

    /// Runs until done. A database error ends the run at once: requests in flight are cut and
    /// their jobs stay leased, so the next run gets them back when the lease expires.
    public func run() throws(PostgresError) -> RunReport {
        let started = clock.now()
        let tripsBefore = store.connection.roundTrips
        do {
            // Most timer runs find nothing: a cheap probe ends them before the tick is planned.
            if try store.hasWork(types: types, lease: settings.lease) {
                try loop(started: started)
            }
        } catch {
            let cut = transport.abortAll()
            let unwritten = (pendingTick?.outcomes ?? []) + unrecorded
            let lost = unwritten.map(\.job.id) + cut.compactMap { inFlight[$0]?.job.id }
            if !lost.isEmpty {
                log.error("database unavailable: \(lost.count) outcome(s) not recorded; those jobs stay leased and come back when the lease expires",
                          metadata: ["jobs": .string(lost.joined(separator: ","))])
            }
            throw error
        }
        let finished: StopReason = settings.once && claimsMade > 0 ? .onceDone : .drained
        return RunReport(summary: summary, stopReason: stopReason ?? finished,
                         seconds: clock.now() - started, roundTrips: store.connection.roundTrips - tripsBefore)
    }

    private func loop(started: Double) throws(PostgresError) {
        while true {
            noticeSignals()
            let now = clock.now()
            if stopReason == nil, let maxRuntime = settings.maxRuntime, now - started >= maxRuntime, queuedCount == 0 {
                stopReason = .maxRuntime
            }
            if pendingTick != nil, let result = try store.pollTick() {
                tickFinished(result)
            }
            if pendingTick == nil && !bodyWaiting {
                let claim = wantsClaim(now: now)
                if claim || wantsRecord(now: now) { try startTick(claim: claim) }
            }
            try dispatch()
            if pendingTick == nil && inFlight.isEmpty && queuedCount == 0 && unrecorded.isEmpty
                && (!mayFindWork() || claimQuotas().isEmpty) {
                return
            }
            let completions = transport.wait(timeout: waitTimeout(now: clock.now()),
                                             watching: pendingTick == nil ? nil : store.connection.socket)
            for completion in completions { finish(completion) }
            if let graceDeadline, clock.now() >= graceDeadline { cutInFlight(reason: "the shutdown grace period ended") }
        }
    }

    // MARK: Claiming and recording

    private var queuedCount: Int { queue.count - queueHead }

    /// True while a claim could still find something: the last one was full, or answers have
    /// arrived since (they may have queued new jobs).
    private func mayFindWork() -> Bool {
        guard stopReason == nil else { return false }
        if settings.once && claimsMade > 0 { return false }
        return claimsMade == 0 || !lastClaimShort || finishedSinceClaim > 0
    }

    /// Claims go out before the queue runs dry, once half a round of slots is free, so the next
    /// jobs are there when requests finish.
    private func wantsClaim(now: Double) -> Bool {
        guard mayFindWork(), claimLimit >= max(1, min(settings.batchSize, settings.concurrency) / 2) else { return false }
        if lastClaimShort && !inFlight.isEmpty && now - lastClaimTime < settings.idleClaimInterval { return false }
        return !claimQuotas().isEmpty
    }

    private func wantsRecord(now: Double) -> Bool {
        guard !unrecorded.isEmpty else { return false }
        return unrecorded.count >= settings.batchSize || inFlight.isEmpty || now - oldestUnrecorded >= settings.recordDelay
    }

    /// How many jobs to claim now. A claimed job waits for at most one request ahead of it
    /// (the queue never holds more than a round of slots), which the lease is sized for.
    private var claimLimit: Int {
        min(settings.batchSize, max(0, 2 * settings.concurrency - inFlight.count - queuedCount))
    }

    /// Per type, how many jobs a claim may take: the same rule per route limit; paused routes none.
    private func claimQuotas() -> [(type: String, quota: Int)] {
        let now = clock.now()
        let limit = claimLimit
        return types.compactMap { type in
            if let until = pausedUntil[type], until > now { return nil }
            let quota = settings.routeConcurrency[type].map { max(0, 2 * $0 - inFlightByType[type, default: 0]) } ?? limit
            return min(quota, limit) > 0 ? (type: type, quota: min(quota, limit)) : nil
        }
    }

    /// Body bytes the run holds: requests in flight and jobs claimed but not sent (bodies over
    /// --max-payload are never loaded).
    private var heldBytes: Int {
        let queued = queue[queueHead...].lazy.map(\.bodySize).filter { $0 <= self.settings.maxPayload }.reduce(0, +)
        let sending = inFlight.values.lazy.map(\.job.bodySize).filter { $0 <= self.settings.maxPayload }.reduce(0, +)
        return queued + sending
    }

    /// Sends a tick: the outcomes gathered so far and, when `claim`, a rescue and claim.
    private func startTick(claim: Bool) throws(PostgresError) {
        let held = claim ? heldBytes : 0
        let request = claim
            ? JobStore.Claim(limit: claimLimit, quotas: claimQuotas(), lease: settings.lease, rescue: claimsMade == 0,
                             budget: settings.maxInflightBytes - held, alone: held == 0, maxPayload: settings.maxPayload,
                             backoff: settings.retry)
            : nil
        let outcomes = unrecorded
        unrecorded = []
        if request != nil {
            claimsMade += 1
            lastClaimTime = clock.now()
            // Answers from here on may queue work this claim's snapshot cannot see.
            finishedSinceClaim = 0
        }
        pendingTick = (outcomes, request, clock.now())
        try store.beginTick(outcomes: outcomes, claim: request)
    }

    private func tickFinished(_ result: JobStore.TickResult) {
        guard let (outcomes, request, started) = pendingTick else { return }
        pendingTick = nil
        log.debug("tick", metadata: [
            "ms": .string(String(Double(Int((clock.now() - started) * 100_000)) / 100)),
            "recorded": .stringConvertible(result.recorded.count), "claimed": .stringConvertible(result.claimed.count),
            "rescued": .stringConvertible(result.rescued.count),
        ])
        report(outcomes, recorded: result.recorded)
        for rescued in result.rescued {
            summary.rescued += 1
            log.warning("lease expired: counted as a failed attempt", metadata: [
                "id": .string(rescued.id), "type": .string(rescued.type),
                "holder": .string(rescued.previousHolder ?? "-"), "status": .string(rescued.status),
                "retry_count": .stringConvertible(rescued.retryCount),
            ])
        }
        for notified in result.notified {
            log.info("failure job queued", metadata: [
                "id": .string(notified.id), "type": .string(notified.type), "failed_job": .string(notified.failedJobID),
            ])
        }
        if let request {
            lastClaimShort = settings.once || result.claimed.count < request.limit
            summary.claimed += result.claimed.count
            if queueHead > 0 { queue.removeFirst(queueHead); queueHead = 0 }
            if stopReason == nil {
                queue.append(contentsOf: result.claimed)
            } else {
                // A stop came while the claim was out: these jobs go back untouched.
                for job in result.claimed { enqueueOutcome(PendingOutcome(job: job, outcome: .release(delay: nil))) }
            }
        }
        // Failure jobs of a type this run claims are due now, and no claim has seen them yet.
        finishedSinceClaim += result.notified.filter { targets[$0.type] != nil }.count
        observer(progress)
    }

    /// One log line per outcome, with the row's new state as the database wrote it.
    private func report(_ outcomes: [PendingOutcome], recorded: [JobStore.Recorded]) {
        var written: [String: JobStore.Recorded] = [:]
        for row in recorded { written[row.id] = row }
        for pending in outcomes {
            let job = pending.job
            var metadata: Logger.Metadata = [
                "id": .string(job.id), "type": .string(job.type), "attempt": .stringConvertible(job.attempt),
                "trace_id": .string(TraceContext.traceID(forJob: job.id)),
                "http": .string(pending.httpStatus.map(String.init) ?? "-"),
                "ms": .string(pending.seconds.map { String(Int(($0 * 1000).rounded())) } ?? "-"),
            ]
            guard let row = written[job.id] else {
                summary.leaseLost += 1
                summary.count(type: job.type, outcome: .leaseLost)
                log.warning("outcome not recorded: the lease was taken over by another run", metadata: metadata)
                continue
            }
            let kind = pending.outcome.kind
            switch pending.outcome {
            case .complete:
                summary.completed += 1
            case .retry(let error, let delay):
                summary.retried += 1
                metadata["retry_in"] = .string(DurationText.format(delay))
                metadata["error"] = .string(error)
            case .fail(let error):
                summary.failed += 1
                metadata["error"] = .string(error)
            case .release:
                summary.released += 1
            }
            summary.count(type: job.type, outcome: kind)
            metadata["outcome"] = .string(kind.logWord)
            metadata["retry_count"] = .stringConvertible(row.retryCount)
            if kind == .failed || kind == .retried {
                log.warning("job \(kind.logWord)", metadata: metadata)
            } else {
                log.info("job \(kind.logWord)", metadata: metadata)
            }
        }
    }

    // MARK: Dispatching and answers

    private func dispatch() throws(PostgresError) {
        var skipped: [ClaimedJob] = []
        bodyWaiting = false
        while inFlight.count < settings.concurrency, queueHead < queue.count, stopReason == nil {
            var job = queue[queueHead]
            queueHead += 1
            if let until = pausedUntil[job.type], until > clock.now() {
                enqueueOutcome(PendingOutcome(job: job, outcome: .release(delay: until.isFinite ? until - clock.now() : nil)))
                continue
            }
            if let limit = settings.routeConcurrency[job.type], inFlightByType[job.type, default: 0] >= limit {
                skipped.append(job)
                continue
            }
            if let error = job.unsendable(maxPayload: settings.maxPayload) {
                enqueueOutcome(PendingOutcome(job: job, outcome: .fail(error: error)))
                continue
            }
            if job.body == nil {
                // Too big to come with the claim: read now, while no statement is out.
                guard pendingTick == nil else {
                    bodyWaiting = true
                    skipped.append(job)
                    continue
                }
                guard let body = try store.body(of: job) else {
                    // The lease was taken over: writing the release is fenced out and counted.
                    enqueueOutcome(PendingOutcome(job: job, outcome: .release(delay: nil)))
                    continue
                }
                job = job.with(body: body)
            }
            guard let body = job.body, let url = targets[job.type] else {
                enqueueOutcome(PendingOutcome(job: job, outcome: .release(delay: nil)))
                continue
            }
            let tag = nextTag
            nextTag += 1
            // The request holds the body; the job in flight keeps only its size.
            inFlight[tag] = (job.with(body: nil), clock.now())
            inFlightByType[job.type, default: 0] += 1
            transport.start(Request.forJob(job, body: body, url: url, token: credentials.token(for: job.type)?.value,
                                           trace: TraceContext(jobID: job.id, span: TraceContext.newSpan()),
                                           signing: credentials.signing, now: Int(WallClock.now())), tag: tag)
        }
        // Jobs held back by a route limit keep their place at the front of the queue.
        if !skipped.isEmpty {
            queue.replaceSubrange(queueHead..<queueHead, with: skipped)
        }
    }

    private func finish(_ completion: Completion) {
        guard let (job, _) = inFlight.removeValue(forKey: completion.tag) else { return }
        inFlightByType[job.type, default: 1] -= 1
        finishedSinceClaim += 1
        let status: Int? = if case .response(let response) = completion.exchange { response.status } else { nil }
        let outcome: Outcome
        switch Verdict.classify(completion.exchange, now: WallClock.now()) {
        case .success(let result):
            unsentInARow = 0
            outcome = .complete(result: result)
        case .transient(let error, let retryAfter):
            unsentInARow = 0
            outcome = failedAttempt(job, error: error, retryAfter: retryAfter)
            if let status, Verdict.pausesRoute(status: status) { pauseRoute(job.type, retryAfter: retryAfter, status: status) }
        case .permanent(let error):
            unsentInARow = 0
            outcome = .fail(error: error)
        case .tokenRejected(let status):
            outcome = .release(delay: nil)
            requestStop(.tokenRejected(status: status))
        case .notSent(let error):
            unsentInARow += 1
            outcome = .release(delay: settings.unsentDelay)
            if unsentInARow >= settings.circuitThreshold {
                requestStop(.appUnreachable(error))
            }
        }
        enqueueOutcome(PendingOutcome(job: job, outcome: outcome, httpStatus: status, seconds: completion.seconds))
    }

    /// The app said "too many" or "not now" for this route: send it nothing more until its
    /// Retry-After has passed (without one, for the rest of the run). Jobs of that type not yet
    /// sent go back uncharged, due when the app said it would be ready; other routes go on.
    private func pauseRoute(_ type: String, retryAfter: Double?, status: Int) {
        let until = retryAfter.map { clock.now() + min($0, settings.retry.cap) } ?? .infinity
        if let current = pausedUntil[type], current >= until { return }
        pausedUntil[type] = until
        summary.pausedTypes.insert(type)
        log.warning("route paused: the app asked to slow down", metadata: [
            "type": .string(type), "http": .stringConvertible(status),
            "for": .string(retryAfter.map { DurationText.format(min($0, settings.retry.cap)) } ?? "the rest of the run"),
        ])
        var kept: [ClaimedJob] = []
        for job in queue[queueHead...] {
            if job.type == type {
                enqueueOutcome(PendingOutcome(job: job, outcome: .release(delay: retryAfter.map { min($0, settings.retry.cap) })))
            } else {
                kept.append(job)
            }
        }
        queue = kept
        queueHead = 0
    }

    /// A failed attempt: retried after a backoff while retries remain, else the job fails.
    private func failedAttempt(_ job: ClaimedJob, error: String, retryAfter: Double?) -> Outcome {
        guard RetryPolicy.mayRetry(retryCount: job.retryCount, maxRetries: job.maxRetries) else {
            return .fail(error: error)
        }
        let delay = settings.retry.delay(failedAttempts: job.retryCount + 1, retryAfter: retryAfter,
                                         random: random.nextUnit())
        return .retry(error: error, delay: delay)
    }

    private func enqueueOutcome(_ outcome: PendingOutcome) {
        if unrecorded.isEmpty { oldestUnrecorded = clock.now() }
        // An outcome waiting to be written has no use for the body.
        unrecorded.append(outcome.job.body == nil ? outcome
            : PendingOutcome(job: outcome.job.with(body: nil), outcome: outcome.outcome,
                             httpStatus: outcome.httpStatus, seconds: outcome.seconds))
    }

    // MARK: Stopping

    private func noticeSignals() {
        guard let stop else { return }
        if stop.hangups() > hangupsSeen {
            hangupsSeen = stop.hangups()
            log.notice("SIGHUP: this run goes on unchanged; in repeat mode (--every) the next run re-reads the token files")
        }
        let count = stop.received()
        guard count > signalsSeen else { return }
        // Two signals may arrive during one wait: the first one's stop is never skipped.
        let first = signalsSeen == 0
        signalsSeen = count
        if first {
            log.notice("stop requested: finishing requests in flight, releasing the rest",
                       metadata: ["in_flight": .stringConvertible(inFlight.count), "grace": .string(DurationText.format(settings.grace))])
            requestStop(.signal)
            graceDeadline = clock.now() + settings.grace
        }
        if count >= 2 {
            cutInFlight(reason: "a second stop signal arrived")
        }
    }

    /// Stops claiming and gives back every job not yet sent, untouched.
    private func requestStop(_ reason: StopReason) {
        guard stopReason == nil else { return }
        stopReason = reason
        while queueHead < queue.count {
            enqueueOutcome(PendingOutcome(job: queue[queueHead], outcome: .release(delay: nil)))
            queueHead += 1
        }
    }

    /// Cuts requests still in flight. They were sent, so the app may act on them: they go back
    /// uncharged and may be sent again, which is what their Idempotency-Key is for.
    private func cutInFlight(reason: String) {
        for tag in transport.abortAll() {
            guard let (job, _) = inFlight.removeValue(forKey: tag) else { continue }
            inFlightByType[job.type, default: 1] -= 1
            log.warning("request cut: \(reason); the job is released and may be sent again", metadata: ["id": .string(job.id)])
            enqueueOutcome(PendingOutcome(job: job, outcome: .release(delay: nil)))
        }
        graceDeadline = nil
    }

    private func waitTimeout(now: Double) -> Double {
        var deadline = now + 1
        if pendingTick == nil {
            if !unrecorded.isEmpty { deadline = min(deadline, oldestUnrecorded + settings.recordDelay) }
            if lastClaimShort && finishedSinceClaim > 0 { deadline = min(deadline, lastClaimTime + settings.idleClaimInterval) }
        } else if let left = store.connection.secondsLeft {
            // Recording and claiming wait for the tick out (counting them would spin); its deadline does not.
            deadline = min(deadline, now + left)
        }
        if let graceDeadline { deadline = min(deadline, graceDeadline) }
        return max(0, deadline - now)
    }

    // MARK: Progress

    private var progress: RunProgress {
        RunProgress(claimed: summary.claimed, completed: summary.completed, retried: summary.retried,
                    failed: summary.failed, released: summary.released, inFlight: inFlight.count,
                    seconds: clock.now())
    }
}

/// A snapshot for live progress on a terminal.
public struct RunProgress: Sendable {
    public let claimed, completed, retried, failed, released, inFlight: Int
    public let seconds: Double
}
