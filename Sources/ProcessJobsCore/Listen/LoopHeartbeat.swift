import Synchronization

/// When the listen loop last turned, for /healthz: healthy while that was within the last two
/// poll intervals (a loop that waits a whole interval between turns is still well). The loop
/// beats from its thread, the health server reads from its own: the time sits behind a lock.
/// Times are monotonic seconds passed in, so a test drives it on a fake clock.
public final class LoopHeartbeat: Sendable {
    private let lastTurn: Mutex<Double>
    public let pollInterval: Double

    /// `started` counts as the first turn: a loop that never turns goes stale after two intervals.
    public init(pollInterval: Double, started: Double) {
        self.pollInterval = pollInterval
        lastTurn = Mutex(started)
    }

    /// The loop turned at `now`.
    public func beat(at now: Double) {
        lastTurn.withLock { $0 = max($0, now) }
    }

    /// Whether the loop turned within the last two poll intervals, and the age of its last turn.
    public func check(at now: Double) -> (healthy: Bool, detail: String) {
        let age = max(0, now - lastTurn.withLock { $0 })
        let healthy = age <= 2 * pollInterval
        return (healthy, "the loop last turned \(DurationText.format(age)) ago (limit \(DurationText.format(2 * pollInterval)))")
    }
}
