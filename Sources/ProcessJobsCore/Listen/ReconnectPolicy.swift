/// When a lost connection is tried again, and what the operator hears about it: exponential
/// backoff with jitter between tries (RetryPolicy's rule), one line when an outage starts and one
/// when it ends, nothing per try. Pure: the time and the randomness come in as arguments, so a
/// test drives a whole outage on a fake clock.
public struct ReconnectPolicy: Sendable, Equatable {
    public let backoff: RetryPolicy
    /// When the current outage began (monotonic seconds); nil while connected.
    public private(set) var outageStart: Double?
    /// Failed tries in the current outage (the loss itself counts as the first).
    public private(set) var failures = 0
    /// When to try next; nil while connected.
    public private(set) var nextTry: Double?

    /// A database restart takes about a second: first tries come quickly, later ones every 10 s.
    public static let standard = ReconnectPolicy(backoff: RetryPolicy(base: 0.1, cap: 10, jitter: 0.2))

    public init(backoff: RetryPolicy) {
        self.backoff = backoff
    }

    /// What to do about a failure.
    public struct Decision: Equatable, Sendable {
        /// When to try again.
        public let retryAt: Double
        /// True for the first failure of an outage: the one to log.
        public let firstOfOutage: Bool
    }

    /// The connection was lost or a try failed at `now`; `random` in [0, 1) spreads the delay.
    public mutating func failed(at now: Double, random: Double) -> Decision {
        let first = outageStart == nil
        if first { outageStart = now }
        failures += 1
        let retryAt = now + backoff.delay(failedAttempts: failures, retryAfter: nil, random: random)
        nextTry = retryAt
        return Decision(retryAt: retryAt, firstOfOutage: first)
    }

    /// Whether a try is due at `now` (never while connected).
    public func due(at now: Double) -> Bool {
        nextTry.map { now >= $0 } ?? false
    }

    /// An outage that ended: how long it lasted and how many tries failed.
    public struct Outage: Equatable, Sendable {
        public let seconds: Double
        public let failures: Int
    }

    /// Connected at `now`: the outage that ended (to log once), nil when there was none.
    public mutating func connected(at now: Double) -> Outage? {
        defer {
            outageStart = nil
            failures = 0
            nextTry = nil
        }
        return outageStart.map { Outage(seconds: max(0, now - $0), failures: failures) }
    }
}
