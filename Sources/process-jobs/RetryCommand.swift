import ArgumentParser
import ProcessJobsCore

struct RetryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "retry",
        abstract: "Move failed (or named) jobs back to pending: retry_count 0, due now, error kept until the next attempt.",
        discussion: """
            Named jobs move when they are failed or pending (a pending one becomes due now);
            processing and completed jobs are never touched. An id that is not a UUID stops the
            command before anything changes; an id not found or not movable is reported, the
            others still move, and the exit code is 64.
            """)

    @Argument(help: ArgumentHelp("Job ids (UUIDs; with --table-profile, the profile's id values).", valueName: "job-id"))
    var ids: [String] = []
    @Flag(help: "Retry every failed job.")
    var failed = false
    @Option(name: .customLong("job-type"), help: ArgumentHelp("With --failed: only jobs of this type.", valueName: "type"))
    var jobType: String?

    @OptionGroup var profileOption: ProfileOption
    @OptionGroup var common: CommonOptions

    func run() throws {
        _ = common.makeLogger()
        let profile = try profileOption.load(environment: ProcessEnvironment.current)
        if jobType != nil && !failed { throw Operator.usage("--job-type goes with --failed (e.g. process-jobs retry --failed --job-type generate-image)") }
        if ids.isEmpty && !failed { throw Operator.usage("retry needs job ids or --failed (e.g. process-jobs retry --failed --job-type generate-image)") }
        if !ids.isEmpty && failed { throw Operator.usage("give job ids or --failed, not both") }
        let (store, jobIDs) = try Operator.jobStore(ids: ids, profile: profile, common: common)
        if failed {
            let moved: [(type: String, jobs: Int)]
            do { moved = try store.retryFailed(type: jobType) } catch { throw ExitStatus.from(error) }
            let total = moved.reduce(0) { $0 + $1.jobs }
            let scope = jobType.map { " of type \(TerminalText.escaped($0))" } ?? ""
            if total == 0 {
                LineSink.standardOutput.write("no failed job\(scope) to retry\n")
            } else {
                let detail = moved.map { "\(TerminalText.escaped($0.type)) \($0.jobs)" }.joined(separator: ", ")
                LineSink.standardOutput.write("moved \(total) failed job\(total == 1 ? "" : "s")\(scope) back to pending (\(detail))\n")
            }
            return
        }
        let results: [OperatorStore.RetryResult]
        do { results = try store.retry(ids: jobIDs) } catch { throw ExitStatus.from(error) }
        let moved = results.filter(\.moved).count
        LineSink.standardOutput.write("moved \(moved) job\(moved == 1 ? "" : "s") back to pending\n")
        var reported = 0
        for result in results where !result.moved {
            reported += 1
            let reason: String
            switch result.statusBefore {
            case nil: reason = "no such job"
            case "processing"?: reason = "is processing (a run holds its lease): not retried; if it is stuck, the next run rescues it when the lease expires"
            case "completed"?: reason = "is completed: not retried; enqueue a new job to run it again"
            case let status?: reason = "was \(TerminalText.escaped(status)) but changed meanwhile: not retried; check `process-jobs status`"
            }
            Operator.stderrLine("\(result.id) \(reason)", priority: 3)
        }
        if reported > 0 { throw ExitCode(ExitStatus.usage) }
    }
}
