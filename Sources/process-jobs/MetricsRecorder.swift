import ArgumentParser
import Logging
import PostgresClient
import ProcessJobsCore

/// Writes `--metrics-file` after each run: the run's numbers, the queue as the run left it,
/// and the last-success and last-claim times carried over from the previous file when this run
/// did not set them.
struct MetricsRecorder {
    let path: String
    /// The job types the run claims (always written, zeros included).
    let types: [String]
    let lease: Double
    let log: Logger

    /// Nil without --metrics-file; a one-line usage error (exit 64) when it cannot be written.
    init?(path: String?, types: [String], lease: Double, log: Logger) throws(ExitCode) {
        guard let path else { return nil }
        do {
            try MetricsFile.checkWritable(path)
        } catch {
            throw Operator.usage(error.description)
        }
        self.path = path
        self.types = types
        self.lease = lease
        self.log = log
    }

    /// After a run that ended (the database still answers): the queue (the run's table) is read
    /// for its gauges.
    func record(_ report: RunReport, exitCode: Int32, connection: Connection, table: JobTable = .jobQueue) {
        var queue: [OperatorStore.QueueRow]?
        do {
            queue = try OperatorStore(connection: connection, table: table).queueSummary(lease: lease).rows
        } catch {
            log.warning("metrics: cannot read the queue; its gauges are left out this time", metadata: ["error": .string(error.description)])
        }
        write(RunMetrics.Run(summary: report.summary, seconds: report.seconds, stop: report.stopReason.name,
                             exitCode: exitCode, finishedAt: Operator.unixNow(), types: types,
                             pausedRoutes: report.pausedRoutes), queue: queue)
    }

    /// After a run that could not finish (database unavailable, schema missing): no queue gauges.
    func recordFailure(exitCode: Int32, seconds: Double, stop: String) {
        write(RunMetrics.Run(summary: RunSummary(), seconds: seconds, stop: stop, exitCode: exitCode,
                             finishedAt: Operator.unixNow(), types: types), queue: nil)
    }

    private func write(_ run: RunMetrics.Run, queue: [OperatorStore.QueueRow]?) {
        let carried = MetricsFile.read(path).map(MetricsFile.carried(in:)) ?? RunMetrics.Carried()
        let text = PrometheusText.render(RunMetrics.families(run: run, queue: queue, carried: carried))
        do {
            try MetricsFile.write(text, to: path)
        } catch {
            log.error("metrics file not written: \(error.description)")
        }
    }
}
