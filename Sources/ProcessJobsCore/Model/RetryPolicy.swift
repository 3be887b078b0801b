/// When a failed attempt is tried again: exponential backoff with bounded jitter, or the app's
/// Retry-After, never past the cap. Pure; randomness comes in as a number in [0, 1).
public struct RetryPolicy: Sendable, Equatable {
    /// Delay after the first failed attempt, in seconds.
    public var base: Double
    /// No delay is longer than this, Retry-After included.
    public var cap: Double
    /// Each delay is spread uniformly over ±jitter of itself, so a burst of failures does not
    /// come back as a burst.
    public var jitter: Double

    public static let standard = RetryPolicy(base: 30, cap: 3600, jitter: 0.2)

    public init(base: Double, cap: Double, jitter: Double = 0.2) {
        self.base = base
        self.cap = cap
        self.jitter = jitter
    }

    /// Seconds to wait after `failedAttempts` failures (1 after the first), given the app's
    /// Retry-After if it sent one and `random` in [0, 1).
    public func delay(failedAttempts: Int, retryAfter: Double?, random: Double) -> Double {
        if let retryAfter { return min(max(retryAfter, 0), cap) }
        let exponent = Double(max(failedAttempts, 1) - 1)
        let raw = min(cap, base * pow2(exponent))
        let spread = 1 - jitter + 2 * jitter * random
        return min(cap, raw * spread)
    }

    /// The contract's retry rule, as the original `mark_job_failed`: a failed attempt goes back
    /// to pending while retry_count (before this attempt) < max_retries, else the job fails.
    public static func mayRetry(retryCount: Int, maxRetries: Int) -> Bool {
        retryCount < maxRetries
    }

    private func pow2(_ exponent: Double) -> Double {
        // Exponents beyond 60 only ever hit the cap; stop before Double overflows.
        exponent >= 60 ? .greatestFiniteMagnitude : Double(UInt64(1) << UInt64(exponent))
    }
}
