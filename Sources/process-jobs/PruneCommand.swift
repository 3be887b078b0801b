import ArgumentParser
import ProcessJobsCore

struct PruneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prune",
        abstract: "Delete completed and failed jobs that finished before the cutoff, in small chunks.",
        discussion: "Pending and processing jobs are never touched. Each chunk is its own short statement, so a large table is never locked for long; SIGINT/SIGTERM stop after the current chunk.")

    @Option(help: ArgumentHelp("Delete jobs finished longer ago than this (default 7d, as the app did).", valueName: "duration"))
    var olderThan: String = "7d"
    @Option(help: ArgumentHelp("Rows deleted per statement (default 1000).", valueName: "n"))
    var chunkSize: Int = 1000

    @OptionGroup var profileOption: ProfileOption
    @OptionGroup var common: CommonOptions

    func run() throws {
        let log = common.makeLogger()
        let cutoff = try Operator.duration(olderThan, flag: "--older-than", allowZero: true)
        guard (1...100_000).contains(chunkSize) else { throw Operator.usage("--chunk-size must be between 1 and 100000, not \(chunkSize)") }
        let profile = try profileOption.load(environment: ProcessEnvironment.current)
        let connection = try common.connect()
        let store = OperatorStore(connection: connection, table: try ProfileOption.table(profile, connection: connection))
        let stop = StopSignal()
        stop.install()
        let deleted: [String: Int]
        do {
            deleted = try store.prune(olderThan: cutoff, chunk: chunkSize, stop: { stop.received() > 0 }) { total in
                log.debug("prune chunk done", metadata: ["deleted": .stringConvertible(total.values.reduce(0, +))])
            }
        } catch {
            throw ExitStatus.from(error)
        }
        let total = deleted.values.reduce(0, +)
        let detail = ["completed", "failed"].map { "\($0) \(deleted[$0] ?? 0)" }.joined(separator: ", ")
        // As the operator wrote it ("7d", "1h"); a bare number is seconds.
        let shown = olderThan.last?.isLetter == true ? olderThan : olderThan + "s"
        let stopped = stop.received() > 0 ? "; stopped by a signal, run it again for the rest" : ""
        LineSink.standardOutput.write("pruned \(total) job\(total == 1 ? "" : "s") finished more than \(shown) ago (\(detail))\(stopped)\n")
    }
}
