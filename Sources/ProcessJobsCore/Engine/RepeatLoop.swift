/// Runs runs: one, or one every --every for --for. Before each run after the first, a SIGHUP
/// since the last one has the caller re-read its credentials; between runs a stop signal ends
/// the loop at once. Each run's work (connecting, running, reporting) is the caller's `run`.
public struct RepeatLoop {
    public let schedule: RepeatSchedule?
    public let stop: StopSignal

    public init(schedule: RepeatSchedule?, stop: StopSignal) {
        self.schedule = schedule
        self.stop = stop
    }

    /// One turn of the loop, as `run` sees it.
    public struct Turn: Sendable {
        /// 0 for the first run: later ones open a new connection (the server may have restarted
        /// or closed an idle session).
        public let index: Int
        /// The run's settings, with --max-runtime cut to the window's end.
        public let settings: RunSettings
        /// A SIGHUP came since the last run: read the credentials again.
        public let reload: Bool
    }

    /// Runs until the schedule ends, a run ends for a stop signal, or `run` throws.
    public func run(settings: RunSettings, _ run: (Turn) throws -> RunReport) rethrows {
        let clock = Stopwatch()
        var hangupsSeen = 0
        var index = 0
        while true {
            let hangups = stop.hangups()
            let reload = hangups > hangupsSeen
            hangupsSeen = hangups
            let started = clock.seconds()
            var turnSettings = settings
            if let schedule { turnSettings.maxRuntime = schedule.maxRuntime(configured: settings.maxRuntime, started: started) }
            let report = try run(Turn(index: index, settings: turnSettings, reload: reload))
            index += 1
            guard let schedule, let next = schedule.nextStart(after: started, reason: report.stopReason) else { return }
            if stop.sleep(seconds: next - clock.seconds()) { return }
        }
    }
}
