/// Why and how the run stops. The first stop signal ends claiming at once (the jobs not yet sent
/// go back untouched) and gives requests in flight `grace` to finish; a second signal, or the
/// end of the grace, cuts them. Signals are counted, not seen one by one: however many arrive
/// in one turn, the stop is in place before anything else that turn is decided, so no claim
/// goes out after the first.
struct StopPolicy: Sendable {
    let grace: Double

    private(set) var reason: StopReason?
    private(set) var graceDeadline: Double?
    private var signalsSeen = 0

    init(grace: Double) { self.grace = grace }

    var isStopping: Bool { reason != nil }

    /// What a new signal count asks for.
    struct SignalEffect: Equatable {
        /// The first stop signal: stop claiming, release what is queued.
        var stopped = false
        /// Cut requests in flight now, for this reason.
        var cut: String?
    }

    mutating func signals(_ count: Int, now: Double) -> SignalEffect {
        guard count > signalsSeen else { return SignalEffect() }
        let first = signalsSeen == 0
        signalsSeen = count
        var effect = SignalEffect()
        if first {
            effect.stopped = request(.signal)
            graceDeadline = now + grace
        }
        if count >= 2 { effect.cut = "a second stop signal arrived" }
        return effect
    }

    /// Stops for `reason` unless the run is already stopping; true when this is the stop.
    mutating func request(_ newReason: StopReason) -> Bool {
        guard reason == nil else { return false }
        reason = newReason
        return true
    }

    /// The grace period's end, if it has come: requests still in flight are cut.
    func graceOver(now: Double) -> String? {
        guard let graceDeadline, now >= graceDeadline else { return nil }
        return "the shutdown grace period ended"
    }

    /// Requests were cut: no grace is left to wait for.
    mutating func cutDone() { graceDeadline = nil }
}
