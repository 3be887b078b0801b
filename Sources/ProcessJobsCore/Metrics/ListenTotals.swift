/// What a resident listener has done: the counts of every burst since it started (for
/// /metrics and the metrics file, which show the same series as a timer's run) and those of the
/// last minute (for systemd's STATUS=). Pure: times are passed in.
public struct ListenTotals: Sendable {
    /// Counts since the process started.
    public private(set) var summary = RunSummary()
    /// Unix time of the last burst whose database work succeeded (its probe or claim answered),
    /// and of the last that claimed at least one job.
    public private(set) var lastSuccessfulClaim: Double?
    public private(set) var lastClaimedJobs: Double?
    /// Routes paused when the last burst ended.
    public private(set) var pausedRoutes: Set<String> = []
    private var recent: [(at: Double, summary: RunSummary)] = []

    public static let window = 60.0

    public init() {}

    /// A burst ended at `now` (monotonic) and `wallNow` (Unix time).
    public mutating func add(_ report: RunReport, now: Double, wallNow: Double) {
        summary.add(report.summary)
        pausedRoutes = report.pausedRoutes
        lastSuccessfulClaim = wallNow
        if report.summary.claimed > 0 { lastClaimedJobs = wallNow }
        if report.summary.claimed > 0 || report.summary.rescued > 0 || report.summary.released > 0 {
            recent.append((now, report.summary))
        }
        prune(now: now)
    }

    /// The counts of the bursts that ended within the last minute before `now`.
    public func lastMinute(now: Double) -> RunSummary {
        var total = RunSummary()
        for entry in recent where entry.at > now - Self.window { total.add(entry.summary) }
        return total
    }

    /// systemd's STATUS= line.
    public func status(now: Double) -> String {
        let minute = lastMinute(now: now)
        return "listening; last minute: \(minute.claimed) claimed, \(minute.completed) completed, \(minute.retried) retried, \(minute.failed) failed"
    }

    static let lastSuccessfulClaimName = "process_jobs_last_successful_claim_timestamp_seconds"

    /// The metrics file's series for the whole life of the process (the "last run" is the
    /// listener up to `wallNow`, `seconds` long, stop reason "listening"), plus when the last
    /// burst's claim succeeded. `queue` as for RunMetrics.families.
    public func families(types: [String], seconds: Double, wallNow: Double, queue: [OperatorStore.QueueRow]?) -> [MetricFamily] {
        let run = RunMetrics.Run(summary: summary, seconds: seconds, stop: "listening", exitCode: 0, finishedAt: wallNow,
                                 types: types, pausedRoutes: pausedRoutes)
        var families = RunMetrics.families(run: run, queue: queue, carried: RunMetrics.Carried(lastClaim: lastClaimedJobs))
        // The counts are the process's, so "the last run that claimed" is the last burst that did.
        for index in families.indices where families[index].name == RunMetrics.lastClaimName {
            families[index].samples = [.init([], lastClaimedJobs ?? 0)]
        }
        families.append(MetricFamily(
            name: Self.lastSuccessfulClaimName,
            help: "When the listener's last claim (or probe) was answered by the database, in Unix time; 0 if none yet.",
            samples: [.init([], lastSuccessfulClaim ?? 0)]))
        return families
    }

    private mutating func prune(now: Double) {
        recent.removeAll { $0.at <= now - Self.window }
    }
}

extension RunSummary {
    /// Adds another run's counts to these.
    public mutating func add(_ other: RunSummary) {
        claimed += other.claimed
        completed += other.completed
        retried += other.retried
        failed += other.failed
        released += other.released
        rescued += other.rescued
        leaseLost += other.leaseLost
        pausedTypes.formUnion(other.pausedTypes)
        for (type, reasons) in other.held {
            for (reason, count) in reasons { held[type, default: [:]][reason, default: 0] += count }
        }
        for (type, outcomes) in other.byType {
            for (outcome, count) in outcomes { byType[type, default: [:]][outcome, default: 0] += count }
        }
    }
}
