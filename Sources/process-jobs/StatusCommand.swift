import ArgumentParser
import PostgresClient
import ProcessJobsCore

struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show the queue: counts per type and status, due and waiting jobs, expired leases, unrouted types, recent errors, routes' shared state.",
        discussion: "Reads only; takes no lock. `--json` prints the same data as one JSON document (see docs/operating.md).")

    @Flag(help: "Print one JSON document instead of the table.")
    var json = false

    @OptionGroup var routing: RouteOptions
    @OptionGroup var profileOption: ProfileOption
    @OptionGroup var common: CommonOptions

    static let errorWindow: Double = 86_400
    static let expiredListLimit = 20
    static let recentFailureLimit = 10
    /// Per route, the users with the most due jobs.
    static let topUserLimit = 5

    func run() throws {
        _ = common.makeLogger()
        let profile = try profileOption.load(environment: ProcessEnvironment.current)
        let routeTable: Routes
        do {
            if let onFailure = routing.onFailure { try Routes.checkType(onFailure) }
            routeTable = try Routes(overrides: (routing.onFailure.map { [Routes.failureRoute(for: $0)] } ?? []) + routing.routes)
        } catch {
            throw Operator.usage(error.description)
        }
        let leaseSeconds = try routing.lease.map { text throws(ExitCode) in try Operator.duration(text, flag: "--lease") } ?? RunSettings().lease
        let connection = try common.connect()
        let store = OperatorStore(connection: connection, table: try ProfileOption.table(profile, connection: connection))
        let report: StatusReport
        do {
            // One snapshot for every part, so the numbers agree with each other.
            report = try connection.transaction { connection throws(PostgresError) in
                try connection.query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                let summary = try store.queueSummary(lease: leaseSeconds)
                return StatusReport(
                    rows: summary.rows, now: summary.now, routedTypes: Set(routeTable.types),
                    expiredLeases: try store.expiredLeases(lease: leaseSeconds, limit: Self.expiredListLimit),
                    topErrors: try store.topErrors(within: Self.errorWindow, limit: 5), errorWindow: Self.errorWindow,
                    recentFailures: try store.recentFailures(within: Self.errorWindow, limit: Self.recentFailureLimit),
                    routes: try store.routeStates(types: Array(Set(routeTable.types).union(summary.rows.map(\.type))).sorted(),
                                                  topUsers: Self.topUserLimit))
            }
        } catch {
            throw ExitStatus.from(error)
        }
        // Row level security that hides rows from this role would make the queue look empty.
        if let warning = AccessChecks.rowSecurityWarning(store) { Operator.stderrLine(warning, priority: 4) }
        LineSink.standardOutput.write(json ? report.json() : report.table())
    }
}
