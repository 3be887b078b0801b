import Logging

/// What became of each outcome a tick carried: one log line per job, with the row's new state as
/// the database wrote it, counted into the run's summary. An outcome the database did not write
/// was fenced out: another run had taken the lease over.
enum OutcomeLog {
    static func record(_ outcomes: [PendingOutcome], written recorded: [JobStore.Recorded],
                       into summary: inout RunSummary) -> [LogEvent] {
        var written: [String: JobStore.Recorded] = [:]
        for row in recorded { written[row.id] = row }
        return outcomes.map { pending in
            let job = pending.job
            var metadata: Logger.Metadata = [
                "id": .string(job.id), "type": .string(job.type), "attempt": .stringConvertible(job.attempt),
                "trace_id": .string(TraceContext.traceID(forJob: job.id)),
                "http": .string(pending.httpStatus.map(String.init) ?? "-"),
                "ms": .string(pending.seconds.map { String(Int(($0 * 1000).rounded())) } ?? "-"),
            ]
            guard let row = written[job.id] else {
                summary.leaseLost += 1
                summary.count(type: job.type, outcome: .leaseLost)
                return LogEvent(.warning, "outcome not recorded: the lease was taken over by another run", metadata)
            }
            let kind = pending.outcome.kind
            switch pending.outcome {
            case .complete:
                summary.completed += 1
            case .retry(let error, let delay):
                summary.retried += 1
                metadata["retry_in"] = .string(DurationText.format(delay))
                metadata["error"] = .string(error)
            case .fail(let error):
                summary.failed += 1
                metadata["error"] = .string(error)
            case .release:
                summary.released += 1
            }
            summary.count(type: job.type, outcome: kind)
            metadata["outcome"] = .string(kind.logWord)
            metadata["retry_count"] = .stringConvertible(row.retryCount)
            return LogEvent(kind == .failed || kind == .retried ? .warning : .info, "job \(kind.logWord)", metadata)
        }
    }
}
