/// Repeat mode (--every, --for): a run every `every` seconds, for `window` seconds (nil: until
/// stopped). Pure: times are seconds since the first run started.
public struct RepeatSchedule: Sendable, Equatable {
    public var every: Double
    public var window: Double?

    public init(every: Double, window: Double? = nil) {
        self.every = every
        self.window = window
    }

    /// --every and --for as typed; nil without --every.
    public static func parse(every: String?, window: String?) throws(ConfigError) -> RepeatSchedule? {
        guard let every else {
            if window != nil { throw .usage("--for goes with --every (e.g. --every 10s --for 55s)") }
            return nil
        }
        let period: Double
        let span: Double?
        do {
            period = try DurationText.seconds(every)
            span = try window.map { text throws(DurationText.Invalid) in try DurationText.seconds(text) }
        } catch {
            throw .usage("--every/--for: \(error.description)")
        }
        guard period >= 1 else {
            throw .usage("--every must be at least 1s, not \(every): each run opens a statement on the database")
        }
        if let span, span <= 0 { throw .usage("--for must be greater than zero") }
        return RepeatSchedule(every: period, window: span)
    }

    /// The --max-runtime of a run that starts at `started`: each run ends by the window's end,
    /// so cron's next minute finds the lock free.
    public func maxRuntime(configured: Double?, started: Double) -> Double? {
        guard let window else { return configured }
        let left = window - started
        return min(configured ?? left, left)
    }

    /// When the run after one that started at `started` and ended for `reason` starts; nil when
    /// there is none (a stop signal, or the window is over).
    public func nextStart(after started: Double, reason: StopReason) -> Double? {
        guard reason != .signal else { return nil }
        let next = started + every
        if let window, next >= window { return nil }
        return next
    }
}
