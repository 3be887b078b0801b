/// The metrics of one run for `--metrics-file`, named after Prometheus' conventions: a
/// `process_jobs_` prefix, base units in the name (`_seconds`), and no `_total`: the file is
/// rewritten after every run with that run's numbers, so they are gauges ("the last run did N"),
/// not counters that only grow. The queue gauges are read after the run.
public enum RunMetrics {
    /// One run as the metrics see it.
    public struct Run: Sendable {
        /// The run's counts (empty when it stopped before claiming, e.g. the database was down).
        public var summary: RunSummary
        public var seconds: Double
        /// Why it ended: a StopReason name, or "database-unavailable", "configuration".
        public var stop: String
        /// The process's exit code for this run (0 success; see ExitStatus).
        public var exitCode: Int32
        /// When it ended, Unix seconds.
        public var finishedAt: Double
        /// The job types it claims: their series are written even when zero, so they never vanish.
        public var types: [String]
        /// Routes paused when it ended (the app's 429/503, an operator, another runner's answer).
        public var pausedRoutes: Set<String>

        public init(summary: RunSummary, seconds: Double, stop: String, exitCode: Int32, finishedAt: Double, types: [String],
                    pausedRoutes: Set<String> = []) {
            self.summary = summary
            self.pausedRoutes = pausedRoutes
            self.seconds = seconds
            self.stop = stop
            self.exitCode = exitCode
            self.finishedAt = finishedAt
            self.types = types
        }

        public var succeeded: Bool { exitCode == 0 }
    }

    /// Times the file carries from run to run: each is kept until a run sets it anew.
    public struct Carried: Sendable, Equatable {
        /// When the last successful run ended.
        public var lastSuccess: Double?
        /// When the last run that claimed a job ended.
        public var lastClaim: Double?

        public init(lastSuccess: Double? = nil, lastClaim: Double? = nil) {
            self.lastSuccess = lastSuccess
            self.lastClaim = lastClaim
        }
    }

    public static let statuses = ["pending", "processing", "completed", "failed"]

    static let lastSuccessName = "process_jobs_last_success_timestamp_seconds"
    static let lastClaimName = "process_jobs_last_claim_timestamp_seconds"

    /// The families for `run`; `queue` is nil when it could not be read (its gauges are left out);
    /// `carried` comes from the previous file (see MetricsFile.carried).
    public static func families(run: Run, queue: [OperatorStore.QueueRow]?, carried: Carried) -> [MetricFamily] {
        var families: [MetricFamily] = []

        var jobs: [MetricFamily.Sample] = []
        let types = Set(run.types).union(run.summary.byType.keys).sorted()
        for type in types {
            let counts = run.summary.byType[type] ?? [:]
            for outcome in OutcomeKind.allCases {
                jobs.append(.init([.init("type", type), .init("outcome", outcome.label)], Double(counts[outcome] ?? 0)))
            }
        }
        families.append(MetricFamily(
            name: "process_jobs_last_run_jobs",
            help: "Jobs the last run finished, by job type and outcome (\(OutcomeKind.allCases.map(\.label).joined(separator: ", "))).",
            samples: jobs))
        families.append(MetricFamily(name: "process_jobs_last_run_claimed_jobs", help: "Jobs the last run claimed.",
                                     samples: [.init([], Double(run.summary.claimed))]))
        families.append(MetricFamily(
            name: "process_jobs_last_run_rescued_jobs",
            help: "Expired leases the last run counted as failed attempts.",
            samples: [.init([], Double(run.summary.rescued))]))
        families.append(MetricFamily(name: "process_jobs_last_run_duration_seconds", help: "How long the last run took.",
                                     samples: [.init([], run.seconds)]))
        families.append(MetricFamily(name: "process_jobs_last_run_timestamp_seconds",
                                     help: "When the last run ended, in Unix time.",
                                     samples: [.init([], run.finishedAt)]))
        let lastSuccess = run.succeeded ? run.finishedAt : (carried.lastSuccess ?? 0)
        families.append(MetricFamily(
            name: lastSuccessName,
            help: "When the last successful run (exit code 0) ended, in Unix time; 0 if none is known.",
            samples: [.init([], lastSuccess)]))
        let lastClaim = run.summary.claimed > 0 ? run.finishedAt : (carried.lastClaim ?? 0)
        families.append(MetricFamily(
            name: lastClaimName,
            help: "When the last run that claimed at least one job ended, in Unix time; 0 if none is known.",
            samples: [.init([], lastClaim)]))
        families.append(MetricFamily(name: "process_jobs_last_run_success",
                                     help: "1 if the last run succeeded (exit code 0), else 0.",
                                     samples: [.init([], run.succeeded ? 1 : 0)]))
        families.append(MetricFamily(name: "process_jobs_last_run_exit_code",
                                     help: "The last run's exit code (0, 69, 75, 77 or 78; see the README).",
                                     samples: [.init([], Double(run.exitCode))]))
        families.append(MetricFamily(name: "process_jobs_last_run_stop_reason",
                                     help: "Why the last run ended: 1 for the reason, a label value.",
                                     samples: [.init([.init("reason", run.stop)], 1)]))
        families.append(MetricFamily(
            name: "process_jobs_last_run_route_paused",
            help: "1 if the app asked this job type's route to slow down (HTTP 429 or 503) during the last run, else 0.",
            samples: Set(run.types).union(run.summary.pausedTypes).sorted().map {
                .init([.init("type", $0)], run.summary.pausedTypes.contains($0) ? 1 : 0)
            }))

        let routes = Set(run.types).union(run.summary.held.keys).union(run.pausedRoutes).sorted()
        families.append(MetricFamily(
            name: "process_jobs_last_run_held_jobs",
            help: "Due jobs the last run's claims kept back by a route gate, by job type and reason (\(HoldReason.allCases.map(\.rawValue).joined(separator: ", "))), summed over its claims.",
            samples: routes.flatMap { type in
                HoldReason.allCases.map { reason in
                    MetricFamily.Sample([.init("type", type), .init("reason", reason.rawValue)],
                                        Double(run.summary.held[type]?[reason] ?? 0))
                }
            }))
        families.append(MetricFamily(
            name: "process_jobs_route_paused",
            help: "1 while this job type's route is paused for every runner (the app's 429/503, or an operator), as the last run ended; else 0.",
            samples: routes.map { .init([.init("type", $0)], run.pausedRoutes.contains($0) ? 1 : 0) }))

        guard let queue else { return families }
        var byType: [String: (counts: [String: Int], due: Int, oldest: Double, expired: Int)] = [:]
        for type in run.types { byType[type] = ([:], 0, 0, 0) }
        for row in queue {
            var entry = byType[row.type] ?? ([:], 0, 0, 0)
            entry.counts[row.status, default: 0] += row.jobs
            entry.due += row.due
            entry.oldest = max(entry.oldest, row.oldestDueSeconds ?? 0)
            entry.expired += row.expiredLeases
            byType[row.type] = entry
        }
        let queueTypes = byType.keys.sorted()
        families.append(MetricFamily(
            name: "process_jobs_queue_jobs", help: "Jobs in job_queue after the last run, by job type and status.",
            samples: queueTypes.flatMap { type in
                statuses.map { status in
                    MetricFamily.Sample([.init("type", type), .init("status", status)], Double(byType[type]!.counts[status] ?? 0))
                }
            }))
        families.append(MetricFamily(
            name: "process_jobs_queue_due_jobs", help: "Pending jobs whose run_at has come, after the last run, by job type.",
            samples: queueTypes.map { .init([.init("type", $0)], Double(byType[$0]!.due)) }))
        families.append(MetricFamily(
            name: "process_jobs_queue_oldest_due_age_seconds",
            help: "How long the longest-waiting due job has been due (now - run_at), after the last run, by job type; 0 if none.",
            samples: queueTypes.map { .init([.init("type", $0)], max(0, byType[$0]!.oldest)) }))
        families.append(MetricFamily(
            name: "process_jobs_queue_expired_leases",
            help: "Processing jobs past their lease after the last run, by job type (the next run rescues them).",
            samples: queueTypes.map { .init([.init("type", $0)], Double(byType[$0]!.expired)) }))
        return families
    }
}
