/// How many jobs to claim and when. Claims go out before the queue runs dry, once half a round
/// of slots is free, so the next jobs are there when requests finish. The lease must cover a
/// claimed job's wait in the queue and then its own request: until answers are seen the queue
/// holds at most one round of slots (a job waits for at most one request, which the lease is
/// sized for); once answers come back fast it may hold more rounds, as many as the slowest
/// answer so far, taken twice over, fits into the lease's time for waiting, so a claim carries
/// a whole batch and the run commits fewer times per job. `maySend` keeps the promise whatever
/// the app does next: a job whose lease could no longer cover a request is given back unsent.
/// After a claim that found fewer jobs than asked, the next waits until answers have come (they
/// may queue new work, e.g. a complete pack), and at least `idleClaimInterval` while requests
/// are still in flight.
struct ClaimPacing: Sendable {
    let batchSize: Int
    let concurrency: Int
    let idleClaimInterval: Double
    /// --once: one claim only.
    let once: Bool
    let requestTimeout: Double
    /// How long a claimed job may wait in the queue and still have a whole request's time left
    /// of its lease, counted from the tick's start (the lease starts at the database's now(),
    /// later).
    let queueWait: Double
    /// At most this many rounds of slots queued, about a batch: more would only hold jobs back
    /// from other runners.
    let maxRounds: Int

    private(set) var claimsMade = 0
    private(set) var lastClaimShort = false
    private(set) var lastClaimTime = 0.0
    /// Answers (and failure jobs of a claimed type) since the last claim went out.
    private(set) var finishedSinceClaim = 0
    /// Listen mode: a notification said a job became due since the last claim went out.
    private(set) var notifiedSinceClaim = false
    /// The slowest answer of the run so far (seconds; nil: none yet).
    private(set) var slowestAnswer: Double?

    init(settings: RunSettings) {
        batchSize = settings.batchSize
        concurrency = settings.concurrency
        idleClaimInterval = settings.idleClaimInterval
        once = settings.once
        requestTimeout = settings.requestTimeout
        queueWait = max(0, settings.lease - settings.requestTimeout)
        maxRounds = max(1, (settings.batchSize + settings.concurrency - 1) / max(1, settings.concurrency) + 1)
    }

    /// Rounds of slots the queue may hold: one until an answer is seen, then as many as twice
    /// the slowest answer so far fits into `queueWait`.
    var rounds: Int {
        let slowest = max(slowestAnswer ?? requestTimeout, 0.001)
        return max(1, min(maxRounds, Int(min(queueWait / (2 * slowest), Double(maxRounds)))))
    }

    /// How many jobs a claim may take now.
    func limit(inFlight: Int, queued: Int) -> Int {
        min(batchSize, max(0, (1 + rounds) * concurrency - inFlight - queued))
    }

    /// Whether a job claimed at `claimedAt` (the tick's start) may still be sent: its lease must
    /// outlast a whole request.
    func maySend(claimedAt: Double, now: Double) -> Bool {
        now - claimedAt <= queueWait
    }

    mutating func answerTook(_ seconds: Double) {
        slowestAnswer = max(slowestAnswer ?? 0, seconds)
    }

    /// True while a claim could still find something: none yet, the last one was full, or
    /// answers have arrived since.
    var mayFindWork: Bool {
        if once { return claimsMade == 0 }
        return claimsMade == 0 || !lastClaimShort || finishedSinceClaim > 0 || notifiedSinceClaim
    }

    /// Whether to claim now, given what is in flight and queued (route quotas aside).
    func wantsClaim(now: Double, inFlight: Int, queued: Int) -> Bool {
        guard limit(inFlight: inFlight, queued: queued) >= max(1, min(batchSize, concurrency) / 2) else { return false }
        // A notification is news the idle interval exists to wait for: claim at once.
        return notifiedSinceClaim || !(lastClaimShort && inFlight > 0 && now - lastClaimTime < idleClaimInterval)
    }

    /// The first claim also rescues expired leases.
    var rescues: Bool { claimsMade == 0 }

    mutating func claimSent(now: Double) {
        claimsMade += 1
        lastClaimTime = now
        // Answers from here on may queue work this claim's snapshot cannot see.
        finishedSinceClaim = 0
        notifiedSinceClaim = false
    }

    /// A job became due (listen mode's notification).
    mutating func notified() {
        notifiedSinceClaim = true
    }

    /// The claim came back with `got` of `asked` jobs; `retryAtOnce` when another runner was
    /// claiming the same route at that moment (a contended hold): the claim is not short then.
    mutating func claimReturned(got: Int, asked: Int, retryAtOnce: Bool) {
        // --once: a claim that found nothing only because another runner held the route is not
        // the one claim (nor is a route's very first claim anywhere, which makes its row).
        if once && retryAtOnce && got == 0 { claimsMade -= 1 }
        lastClaimShort = once || (got < asked && !retryAtOnce)
    }

    mutating func finished(_ count: Int = 1) {
        finishedSinceClaim += count
    }

    /// When a short claim may be followed by another, if answers have come since.
    var wake: Double? {
        lastClaimShort && finishedSinceClaim > 0 ? lastClaimTime + idleClaimInterval : nil
    }
}
