import Logging

/// What the scheduler asks the driver to do, in order. A list of actions from `Scheduler.next`
/// ends with `wait`, `readBody` or `finish`.
public enum SchedulerAction: Sendable {
    /// Send the tick statement: these outcomes, this claim (if any), these shared pauses.
    case tick(outcomes: [PendingOutcome], claim: JobStore.Claim?, pauses: [RoutePause])
    /// Start this request; its answer comes back with the tag. The job carries its body.
    case send(ClaimedJob, tag: Int)
    /// Read this job's body (too big to come with the claim) and hand it to `bodyRead`; the
    /// connection is free. Then ask `next` again.
    case readBody(ClaimedJob)
    /// Abort every request in flight and hand their tags to `cut`.
    case cutInFlight(reason: String)
    case log(LogEvent)
    /// Wait for answers, the tick's result or a signal, at most until this monotonic time.
    case wait(until: Double)
    /// The run is over.
    case finish(StopReason)
}

/// A log line the driver writes.
public struct LogEvent: Sendable, Equatable {
    public var level: Logger.Level
    public var message: String
    public var metadata: Logger.Metadata

    public init(_ level: Logger.Level, _ message: String, _ metadata: Logger.Metadata = [:]) {
        self.level = level
        self.message = message
        self.metadata = metadata
    }
}
