/// When the listener claims next. At once at start, on a notification, and after a burst that
/// did work (its claims may not have seen what arrived meanwhile); after a burst that found
/// nothing, when the earliest known future run_at or lease expiry comes, and at the latest one
/// --poll-interval on, as the backstop for a notification that was missed. The app unreachable
/// opens the circuit: no claim for `circuitPause`, notifications included (they would only
/// release their jobs again). Pure: times are monotonic seconds passed in.
public struct ClaimTimer: Sendable, Equatable {
    public let pollInterval: Double
    public let circuitPause: Double
    /// When to claim next.
    public private(set) var next: Double
    /// While the circuit is open: when it closes.
    public private(set) var circuitOpenUntil: Double?

    /// A job due at `run_at` is claimed this much later, so the probe at the wake finds it due
    /// (now() has passed it) rather than a few microseconds early.
    public static let slack = 0.005

    /// How soon a burst that found due work but could claim none is followed by another.
    public static let fruitlessRetry = 1.0

    public init(pollInterval: Double, circuitPause: Double = 30, now: Double) {
        self.pollInterval = pollInterval
        self.circuitPause = circuitPause
        next = now
    }

    /// How a burst ended, as far as the next claim is concerned.
    public enum Burst: Equatable, Sendable {
        /// Its probe found nothing due: the next job or lease is due in this many seconds (nil: none known).
        case foundNothing(nextDueIn: Double?)
        /// It claimed and drained: look again at once.
        case worked
        /// The probe saw due work but the burst claimed none (a route paused until resumed, or
        /// held by another runner's claim): look again within `fruitlessRetry`, not in a loop.
        case fruitless
        /// Its due work waits for a route's rate or pause, this many seconds.
        case held(nextDueIn: Double)
        /// Requests could not be sent: the app is down.
        case appUnreachable
    }

    public mutating func burstEnded(_ burst: Burst, now: Double) {
        let backstop = now + pollInterval
        switch burst {
        case .foundNothing(let due):
            next = min(backstop, due.map { now + max(0, $0) + Self.slack } ?? backstop)
        case .worked:
            next = now
        case .fruitless:
            next = now + min(pollInterval, Self.fruitlessRetry)
        case .held(let due):
            next = min(backstop, now + max(0, due) + Self.slack)
        case .appUnreachable:
            circuitOpenUntil = now + circuitPause
            next = now + circuitPause
        }
    }

    /// A notification arrived, or the listening connection came back (jobs may have become due
    /// while it was down): claim now, unless the circuit is open.
    public mutating func notified(now: Double) {
        if let until = circuitOpenUntil, now < until { return }
        circuitOpenUntil = nil
        next = min(next, now)
    }

    public func due(now: Double) -> Bool { now >= next }

    /// Seconds to sleep before the next claim.
    public func timeout(now: Double) -> Double { max(0, next - now) }
}
