/// What keeps a route's jobs from going out, as this run sees it: its own in-flight cap per type
/// (--route-concurrency, which the claim also applies across runners), the pauses the app asked
/// for (429, 502, 503, 504), and the holds the last tick reported from the shared route state.
struct RouteGates: Sendable {
    /// --route-concurrency: requests in flight of a type in this process.
    let localLimits: [String: Int]
    /// The longest pause the app may ask for (--backoff-max).
    let pauseCap: Double

    private(set) var inFlight: [String: Int] = [:]
    /// Until a monotonic time (infinity: the rest of the run).
    private(set) var pausedUntil: [String: Double] = [:]

    init(localLimits: [String: Int], pauseCap: Double) {
        self.localLimits = localLimits
        self.pauseCap = pauseCap
    }

    mutating func started(_ type: String) { inFlight[type, default: 0] += 1 }

    mutating func finished(_ type: String) { inFlight[type, default: 1] -= 1 }

    /// Whether one more request of `type` fits under this process's cap.
    func hasRoom(_ type: String) -> Bool {
        guard let limit = localLimits[type] else { return true }
        return inFlight[type, default: 0] < limit
    }

    /// When the app's pause of `type` ends, if it is paused now.
    func paused(_ type: String, now: Double) -> Double? {
        guard let until = pausedUntil[type], until > now else { return nil }
        return until
    }

    /// How long a pause the app's Retry-After asks for, capped; nil without one.
    func pauseLength(retryAfter: Double?) -> Double? {
        retryAfter.map { min(max($0, 0), pauseCap) }
    }

    /// The app asked `type` to slow down: paused for `seconds`, nil for the rest of the run.
    /// True when the pause is new or longer than the one in place.
    mutating func pause(_ type: String, for seconds: Double?, now: Double) -> Bool {
        let until = seconds.map { now + $0 } ?? .infinity
        if let current = pausedUntil[type], current >= until { return false }
        pausedUntil[type] = until
        return true
    }

    /// At most how many jobs of `type` a claim may take under `limit`: twice the type's cap less
    /// its requests in flight; none while paused.
    func quota(_ type: String, limit: Int, now: Double) -> Int {
        if paused(type, now: now) != nil { return 0 }
        let quota = localLimits[type].map { max(0, 2 * $0 - inFlight[type, default: 0]) } ?? limit
        return min(quota, limit)
    }

    /// Types paused at `now` (the metrics' route gauge).
    func pausedTypes(now: Double) -> Set<String> {
        Set(pausedUntil.filter { $0.value > now }.keys)
    }
}
