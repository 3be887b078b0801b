/// What an answer (or its absence) means for the job and the run: the outcome to write, whether
/// the app asked the route to slow down, and whether the run must stop. Pure: the retry delay's
/// randomness comes in as a number in [0, 1), drawn only when a delay is needed.
struct AnswerDecision: Equatable {
    var outcome: Outcome
    /// The app asked this route to slow down (429, 502, 503, 504).
    var slowDown: SlowDown?
    /// Whether the request reached the app (nil: said nothing about it, e.g. a token refusal).
    var reached: Bool?
    /// The token was refused (401/403): the run stops.
    var tokenRejected: Int?
    /// The request could not be sent: the circuit breaker counts it; this is its error.
    var notSent: String?

    struct SlowDown: Equatable {
        var status: Int
        /// The Retry-After it sent, in seconds.
        var retryAfter: Double?
    }

    static func decide(_ exchange: Exchange, job: ClaimedJob, settings: RunSettings, wallNow: Double,
                       random: () -> Double) -> AnswerDecision {
        let status: Int? = if case .response(let response) = exchange { response.status } else { nil }
        switch Verdict.classify(exchange, now: wallNow) {
        case .success(let result):
            return AnswerDecision(outcome: .complete(result: result), reached: true)
        case .transient(let error, let retryAfter):
            var decision = AnswerDecision(outcome: failedAttempt(job, error: error, retryAfter: retryAfter,
                                                                 policy: settings.retry, random: random),
                                          reached: true)
            if let status, Verdict.pausesRoute(status: status) { decision.slowDown = SlowDown(status: status, retryAfter: retryAfter) }
            return decision
        case .permanent(let error):
            return AnswerDecision(outcome: .fail(error: error), reached: true)
        case .tokenRejected(let status):
            return AnswerDecision(outcome: .release(delay: nil), tokenRejected: status)
        case .notSent(let error):
            return AnswerDecision(outcome: .release(delay: settings.unsentDelay), reached: false, notSent: error)
        }
    }

    /// A failed attempt: retried after a backoff while retries remain, else the job fails.
    static func failedAttempt(_ job: ClaimedJob, error: String, retryAfter: Double?, policy: RetryPolicy,
                              random: () -> Double) -> Outcome {
        guard RetryPolicy.mayRetry(retryCount: job.retryCount, maxRetries: job.maxRetries) else {
            return .fail(error: error)
        }
        return .retry(error: error, delay: policy.delay(failedAttempts: job.retryCount + 1, retryAfter: retryAfter, random: random()))
    }
}
