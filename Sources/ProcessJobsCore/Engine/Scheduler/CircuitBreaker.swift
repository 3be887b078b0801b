/// Requests that could not be sent, `threshold` in a row, mean the app is unreachable: the run
/// stops (exit 69) rather than release every job one failed connect at a time. Any request that
/// reached the app closes the circuit again.
struct CircuitBreaker: Sendable {
    let threshold: Int
    private(set) var unsentInARow = 0

    init(threshold: Int) { self.threshold = threshold }

    mutating func reached() { unsentInARow = 0 }

    /// True when this one trips the breaker.
    mutating func notSent() -> Bool {
        unsentInARow += 1
        return unsentInARow >= threshold
    }
}
