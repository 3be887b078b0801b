import Logging

/// Why a run ended.
public enum StopReason: Sendable, Equatable {
    /// No job was due any more.
    case drained
    /// --once: one batch was done.
    case onceDone
    /// --max-runtime passed; the rest waits for the next run.
    case maxRuntime
    /// SIGTERM or SIGINT.
    case signal
    /// The only due work was held back by a route rate or pause that opens after --max-runtime
    /// (or at all, with --once): the next run finds it due in `nextDueIn` seconds.
    case rateLimited(nextDueIn: Double)
    /// The app answered 401/403 (exit 77).
    case tokenRejected(status: Int)
    /// Requests could not be sent several times in a row (exit 69).
    case appUnreachable(String)
    /// The database's schema is older than this runner needs (exit 78): nothing was claimed.
    case schemaOutdated(found: Int, needed: Int)

    /// The summary line's `stop` field and the metrics' `reason` label.
    public var name: String {
        switch self {
        case .drained: "drained"
        case .onceDone: "once"
        case .maxRuntime: "max-runtime"
        case .signal: "signal"
        case .rateLimited: "rate_limited"
        case .tokenRejected: "token-rejected"
        case .appUnreachable: "app-unreachable"
        case .schemaOutdated: "schema-outdated"
        }
    }
}

/// Counts of one run, for the summary line and metrics.
public struct RunSummary: Sendable, Equatable {
    public var claimed = 0
    public var completed = 0
    /// Failed attempts that will be tried again.
    public var retried = 0
    /// Jobs that ended failed in this run (permanent error or retries exhausted).
    public var failed = 0
    /// Jobs given back uncharged (nothing sent, token rejected, shutdown).
    public var released = 0
    /// Expired leases turned into failed attempts.
    public var rescued = 0
    /// Outcomes the database refused because the lease had been taken over.
    public var leaseLost = 0
    /// Job types whose route the app paused (429/503) during the run.
    public var pausedTypes: Set<String> = []
    /// Per job type: due jobs the shared route state held back, by reason, summed over the
    /// run's claims (a job held at two claims counts twice).
    public var held: [String: [HoldReason: Int]] = [:]
    /// Per job type: outcome to count.
    public var byType: [String: [OutcomeKind: Int]] = [:]

    public init() {}

    public mutating func count(type: String, outcome: OutcomeKind) {
        byType[type, default: [:]][outcome, default: 0] += 1
    }
}

public struct RunReport: Sendable {
    public let summary: RunSummary
    public let stopReason: StopReason
    public let seconds: Double
    public let roundTrips: Int
    /// Routes paused when the run ended (by the app's answers or the shared route state).
    public let pausedRoutes: Set<String>
    /// The run found nothing to do at its probe; then `nextDueIn` is the probe's: seconds until
    /// a job becomes due or a lease expires (nil: nothing scheduled).
    public let foundNothing: Bool
    public let nextDueIn: Double?

    public init(summary: RunSummary, stopReason: StopReason, seconds: Double, roundTrips: Int, pausedRoutes: Set<String> = [],
                foundNothing: Bool = false, nextDueIn: Double? = nil) {
        self.summary = summary
        self.stopReason = stopReason
        self.seconds = seconds
        self.roundTrips = roundTrips
        self.pausedRoutes = pausedRoutes
        self.foundNothing = foundNothing
        self.nextDueIn = nextDueIn
    }
}

extension RunReport {
    /// The fields of the run's summary line ("run done"): its counts, time, round trips and why it
    /// stopped; with `stop=rate_limited`, when the held work is due again (`next_due_in`).
    public var summaryFields: Logger.Metadata {
        let finished = summary.completed + summary.retried + summary.failed
        let rate = seconds > 0 ? Double(finished) / seconds : 0
        var fields: Logger.Metadata = [
            OutcomeKind.completed.label: .stringConvertible(summary.completed),
            OutcomeKind.retried.label: .stringConvertible(summary.retried),
            OutcomeKind.failed.label: .stringConvertible(summary.failed),
            OutcomeKind.released.label: .stringConvertible(summary.released),
            OutcomeKind.leaseLost.label: .stringConvertible(summary.leaseLost),
            "claimed": .stringConvertible(summary.claimed), "rescued": .stringConvertible(summary.rescued),
            "seconds": .string(String(Double(Int(seconds * 1000)) / 1000)),
            "jobs_per_second": .stringConvertible(Int(rate.rounded())),
            "round_trips": .stringConvertible(roundTrips),
            "stop": .string(stopReason.name),
        ]
        if case .rateLimited(let nextDueIn) = stopReason {
            fields["next_due_in"] = .string(DurationText.format(nextDueIn))
        }
        return fields
    }
}
