/// When the listener claims next. At once at start, on a notification, and after a burst that
/// did work (its claims may not have seen what arrived meanwhile); after a burst that found
/// nothing, when the earliest known future run_at or lease expiry comes, and at the latest one
/// --poll-interval on, as the backstop for a notification that was missed. The app unreachable
/// opens the circuit: no claim for `circuitPause`, notifications included (they would only
/// release their jobs again). Pure: times are monotonic seconds passed in.
///
/// It also decides whether a burst starts with the probe. A notification that a job is due now
/// already says what the probe would: the burst claims at once, one round trip sooner. The probe
/// keeps its place where nothing else says whether and when work is due: the first burst (it
/// also reads the schema version), the backstop poll, a wake at a known run_at, after a
/// reconnect or a notification of jobs due later, and before the listener sleeps again (only the
/// probe tells until when), so a burst that skipped it is followed by one that does not.
public struct ClaimTimer: Sendable, Equatable {
    public let pollInterval: Double
    public let circuitPause: Double
    /// When to claim next.
    public private(set) var next: Double
    /// Whether the next burst starts with the probe.
    public private(set) var probes = true
    /// A burst with the probe has ended: the schema version has been read.
    private var probed = false
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
        /// The burst claimed none: after the probe saw due work (a route paused until resumed, or
        /// held by another runner's claim), look again within `fruitlessRetry`, not in a loop;
        /// without the probe (another listener took the job), probe at once.
        case fruitless
        /// Its due work waits for a route's rate or pause, this many seconds.
        case held(nextDueIn: Double)
        /// Requests could not be sent: the app is down.
        case appUnreachable
    }

    public mutating func burstEnded(_ burst: Burst, now: Double) {
        let backstop = now + pollInterval
        let withProbe = probes
        probed = probed || withProbe
        probes = true
        switch burst {
        case .foundNothing(let due):
            next = min(backstop, due.map { now + max(0, $0) + Self.slack } ?? backstop)
        case .worked:
            next = now
        case .fruitless:
            next = withProbe ? now + min(pollInterval, Self.fruitlessRetry) : now
        case .held(let due):
            next = min(backstop, now + max(0, due) + Self.slack)
        case .appUnreachable:
            circuitOpenUntil = now + circuitPause
            next = now + circuitPause
        }
    }

    /// A notification said a job is due now: claim now, without the probe once one has read the
    /// schema version, unless the circuit is open.
    public mutating func notified(now: Double) {
        guard claimNow(now) else { return }
        if probed { probes = false }
    }

    /// Something may be due, nothing says what: the listening connection came back (jobs may have
    /// become due while it was down), the main one did, or jobs were scheduled for later (the
    /// probe learns their run_at). Claim now, with the probe, unless the circuit is open.
    public mutating func lookAgain(now: Double) {
        guard claimNow(now) else { return }
        probes = true
    }

    private mutating func claimNow(_ now: Double) -> Bool {
        if let until = circuitOpenUntil, now < until { return false }
        circuitOpenUntil = nil
        next = min(next, now)
        return true
    }

    public func due(now: Double) -> Bool { now >= next }

    /// Seconds to sleep before the next claim.
    public func timeout(now: Double) -> Double { max(0, next - now) }
}
