import ArgumentParser
import PostgresClient
import ProcessJobsCore

/// `run --dry-run`: reads what a run would claim now and prints it; claims, sends and changes nothing.
enum DryRun {
    /// Most jobs listed (the total is still counted).
    static let listLimit = 1000

    static func show(_ configuration: RunConfiguration, connection: Connection, table: JobTable = .jobQueue) throws(ExitCode) {
        let settings = configuration.settings
        let store = OperatorStore(connection: connection, table: table)
        // --once: one claim, which takes at most a batch and at most two rounds of free slots
        // (Runner's claim limit when nothing is in flight).
        let onceLimit = settings.once ? min(settings.batchSize, 2 * settings.concurrency) : nil
        let limit = onceLimit ?? listLimit
        let quotas = configuration.targets.keys.sorted().map { (type: $0, quota: limit) }
        let listing: DryRunListing
        do {
            listing = try connection.transaction { connection throws(PostgresError) in
                try connection.query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                let summary = try store.queueSummary(lease: settings.lease).rows
                let jobs = try store.dueJobs(quotas: quotas, limit: limit)
                let claimed = Set(configuration.targets.keys)
                let routed = Set(configuration.routes.types)
                var unrouted: [String: Int] = [:]
                for row in summary where row.status == "pending" && !routed.contains(row.type) {
                    unrouted[row.type, default: 0] += row.jobs
                }
                return DryRunListing(
                    jobs: jobs, targets: configuration.targets,
                    dueTotal: summary.filter { claimed.contains($0.type) }.reduce(0) { $0 + $1.due },
                    expiredLeases: summary.reduce(0) { $0 + $1.expiredLeases },
                    unrouted: unrouted.sorted { $0.key < $1.key }.map { (type: $0.key, pending: $0.value) },
                    onceLimit: onceLimit)
            }
        } catch {
            throw ExitStatus.from(error)
        }
        LineSink.standardOutput.write(listing.rendered())
    }
}
