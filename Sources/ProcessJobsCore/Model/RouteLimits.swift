/// --route-rate TYPE=N/DURATION with --route-burst TYPE=B: at most `count` starts per `period`
/// seconds, one every `period / count` (a GCRA), up to `burst` at once.
public struct RouteRate: Sendable, Equatable {
    public var count: Int
    public var period: Double
    public var burst: Int

    public init(count: Int, period: Double, burst: Int = 1) {
        self.count = count
        self.period = period
        self.burst = burst
    }

    /// Seconds between two starts when the route is busy.
    public var interval: Double { period / Double(count) }
}

/// The limits one runner applies to a route, against the state every runner shares in
/// process_jobs.route_state and the live leases in job_queue. Runners may disagree (a rolling
/// deploy): each applies its own values to the shared counts.
public struct RouteLimits: Sendable, Equatable {
    /// Starts per period, across all runners.
    public var rate: RouteRate?
    /// Requests in flight (live leases), across all runners (--route-concurrency).
    public var concurrency: Int?

    public init(rate: RouteRate? = nil, concurrency: Int? = nil) {
        self.rate = rate
        self.concurrency = concurrency
    }
}

/// --fair-by: how a claim orders due jobs of one type.
public enum FairBy: String, Sendable, Equatable, CaseIterable {
    /// Round robin over user_id (null user_id is one group), oldest first within a user.
    case user
    /// Oldest first.
    case none
}

/// Why a claim kept back due jobs of a route. The raw value is the metric label and log word.
public enum HoldReason: String, Sendable, Equatable, CaseIterable {
    /// --route-rate: no start left in the window.
    case rate
    /// --route-concurrency: the route's live leases are at the limit.
    case concurrency
    /// --user-concurrency: every user with due jobs is at the cap.
    case userCap = "user_cap"
    /// Paused by an operator (`pause`) or by a 429/503 seen by any runner.
    case paused
    /// Another runner was claiming this route at the same moment: try again at once.
    case contended
}

/// A route whose due jobs a tick kept back, untouched.
public struct RouteHold: Sendable, Equatable {
    public var type: String
    public var reason: HoldReason
    /// Due jobs the claim wanted and did not take (at most what it asked for).
    public var held: Int
    /// Seconds until the gate opens again (next rate slot, end of the pause); nil: unknown
    /// (a lease has to end first).
    public var nextIn: Double?

    public init(type: String, reason: HoldReason, held: Int, nextIn: Double?) {
        self.type = type
        self.reason = reason
        self.held = held
        self.nextIn = nextIn
    }
}

/// A pause a runner writes to the shared route state: every runner holds the route off until it ends.
public struct RoutePause: Sendable, Equatable {
    public var type: String
    public var seconds: Double
    /// Why, as shown by `status` (e.g. "HTTP 429 from the app", "operator").
    public var reason: String

    public init(type: String, seconds: Double, reason: String) {
        self.type = type
        self.seconds = seconds
        self.reason = reason
    }
}
