/// Routes whose due jobs the shared route state kept back (rate, global concurrency, user cap,
/// pause), as the last claim that asked for them reported. A held route is left out of claims
/// until its gate opens; a run with nothing else to do waits for that when it comes before its
/// --max-runtime ends. A route held for more than `warnAfter` without a break is worth a
/// warning, at most once per `warnAfter`.
struct HeldRoutes: Sendable {
    /// How soon to ask again when the hold gives no time (a lease must end first).
    let retryInterval: Double
    let warnAfter: Double
    /// Listen mode (--poll-interval): a timed hold is asked about again at least this often, so
    /// a route paused until resumed is found resumed by a run that never ends. Nil: as the gate says.
    let longestWait: Double?

    struct Hold: Sendable, Equatable {
        /// When to ask again (monotonic).
        var until: Double
        var reason: HoldReason
        /// The gate said when it opens (a rate slot, a pause's end), rather than `retryInterval`.
        var timed: Bool
    }

    private(set) var holds: [String: Hold] = [:]
    private var heldSince: [String: Double] = [:]
    private var warned: [String: Double] = [:]

    init(retryInterval: Double = 1, warnAfter: Double = 60, longestWait: Double? = nil) {
        self.retryInterval = retryInterval
        self.warnAfter = warnAfter
        self.longestWait = longestWait
    }

    /// A route held for over `warnAfter` at a claim.
    struct Throttled: Sendable, Equatable {
        var type: String
        var reason: HoldReason
        var seconds: Double
    }

    /// A claim that asked for `types` came back with `reported` holds at `now`. Returns whether
    /// to claim again at once (another runner was claiming a route at that moment) and the
    /// routes to warn about.
    mutating func claimReturned(types: [String], reported: [RouteHold], now: Double) -> (retryAtOnce: Bool, throttled: [Throttled]) {
        for type in types { holds[type] = nil }
        var retryAtOnce = false
        var throttled: [Throttled] = []
        var stillHeld: Set<String> = []
        for hold in reported {
            if hold.reason == .contended {
                retryAtOnce = true
                continue
            }
            stillHeld.insert(hold.type)
            let wait = min(hold.nextIn ?? retryInterval, longestWait ?? .infinity)
            holds[hold.type] = Hold(until: now + wait, reason: hold.reason, timed: hold.nextIn != nil)
            let since = heldSince[hold.type] ?? now
            heldSince[hold.type] = since
            if now - since >= warnAfter, now - (warned[hold.type] ?? -.infinity) >= warnAfter {
                warned[hold.type] = now
                throttled.append(Throttled(type: hold.type, reason: hold.reason, seconds: now - since))
            }
        }
        for type in types where !stillHeld.contains(type) {
            heldSince[type] = nil
            warned[type] = nil
        }
        return (retryAtOnce, throttled)
    }

    /// This run's leases of `types` ended (their outcomes were written): a hold that waits for a
    /// lease to end (concurrency, user cap) may have room now. Timed holds (rate, pause) stay.
    mutating func leasesEnded(types: Set<String>, now: Double) {
        for type in types {
            guard var hold = holds[type], !hold.timed else { continue }
            // Open now, not forgotten: an open hold is what tells the run to claim once more.
            hold.until = min(hold.until, now)
            holds[type] = hold
        }
    }

    /// Whether `type` is held at `now` (a claim would find nothing of it).
    func isHeld(_ type: String, now: Double) -> Bool {
        holds[type].map { $0.until > now } ?? false
    }

    /// Whether a held route's gate has opened: a claim may find its jobs now.
    func anyOpen(now: Double) -> Bool {
        holds.values.contains { $0.until <= now }
    }

    /// The hold that opens first after `now` (of those not held for `excluding`).
    func earliest(after now: Double, excluding: HoldReason? = nil) -> Hold? {
        holds.values.filter { $0.until > now && $0.reason != excluding }.min { $0.until < $1.until }
    }

    /// Types held by a pause at `now` (the metrics' route gauge).
    func pausedTypes(now: Double) -> Set<String> {
        Set(holds.filter { $0.value.reason == .paused && $0.value.until > now }.keys)
    }
}
