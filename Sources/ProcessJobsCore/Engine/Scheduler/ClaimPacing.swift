/// How many jobs to claim and when. Claims go out before the queue runs dry, once half a round
/// of slots is free, so the next jobs are there when requests finish; a claimed job waits for at
/// most one request ahead of it (the queue never holds more than a round of slots), which the
/// lease is sized for. After a claim that found fewer jobs than asked, the next waits until
/// answers have come (they may queue new work, e.g. a complete pack), and at least
/// `idleClaimInterval` while requests are still in flight.
struct ClaimPacing: Sendable {
    let batchSize: Int
    let concurrency: Int
    let idleClaimInterval: Double
    /// --once: one claim only.
    let once: Bool

    private(set) var claimsMade = 0
    private(set) var lastClaimShort = false
    private(set) var lastClaimTime = 0.0
    /// Answers (and failure jobs of a claimed type) since the last claim went out.
    private(set) var finishedSinceClaim = 0
    /// Listen mode: a notification said a job became due since the last claim went out.
    private(set) var notifiedSinceClaim = false

    init(settings: RunSettings) {
        batchSize = settings.batchSize
        concurrency = settings.concurrency
        idleClaimInterval = settings.idleClaimInterval
        once = settings.once
    }

    /// How many jobs a claim may take now.
    func limit(inFlight: Int, queued: Int) -> Int {
        min(batchSize, max(0, 2 * concurrency - inFlight - queued))
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
