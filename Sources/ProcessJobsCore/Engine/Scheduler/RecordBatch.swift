/// Outcomes waiting to be written: they go with the next tick once `batchSize` of them gather,
/// the oldest has waited `delay`, or nothing is in flight (no answer will come to batch with).
struct RecordBatch: Sendable {
    let batchSize: Int
    let delay: Double

    private(set) var outcomes: [PendingOutcome] = []
    private var oldest = 0.0

    init(batchSize: Int, delay: Double) {
        self.batchSize = batchSize
        self.delay = delay
    }

    var isEmpty: Bool { outcomes.isEmpty }

    mutating func add(_ outcome: PendingOutcome, now: Double) {
        if outcomes.isEmpty { oldest = now }
        // An outcome waiting to be written has no use for the body.
        outcomes.append(outcome.job.body == nil ? outcome
            : PendingOutcome(job: outcome.job.with(body: nil), outcome: outcome.outcome,
                             httpStatus: outcome.httpStatus, seconds: outcome.seconds))
    }

    func isDue(now: Double, nothingInFlight: Bool) -> Bool {
        guard !outcomes.isEmpty else { return false }
        return outcomes.count >= batchSize || nothingInFlight || now - oldest >= delay
    }

    /// When the oldest outcome is due, if any waits.
    var wake: Double? { outcomes.isEmpty ? nil : oldest + delay }

    mutating func take() -> [PendingOutcome] {
        defer { outcomes = [] }
        return outcomes
    }
}
