import ArgumentParser
import ProcessJobsCore

struct CancelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cancel",
        abstract: "Cancel jobs: a pending job fails (\"cancelled by operator\"); a processing one gets no retry.",
        discussion: """
            A pending job becomes failed with error "cancelled by operator". A processing job is
            marked: the request already sent is not recalled, but its outcome, when it comes,
            cannot schedule a retry (a retry, or a lease that expires, ends it failed, "cancelled
            by operator"). Completed and failed jobs are reported unchanged. One line per id. An
            id that is not a UUID stops the command before anything changes; an id not found or
            already finished is reported, the others are still cancelled, and the exit code is 64.
            """)

    @Argument(help: ArgumentHelp("Job ids (UUIDs; with --table-profile, the profile's id values).", valueName: "job-id"))
    var ids: [String] = []

    @OptionGroup var profileOption: ProfileOption
    @OptionGroup var common: CommonOptions

    func run() throws {
        _ = common.makeLogger()
        let profile = try profileOption.load(environment: ProcessEnvironment.current)
        if ids.isEmpty { throw Operator.usage("cancel needs job ids (e.g. process-jobs cancel 6f1c...)") }
        let (store, jobIDs) = try Operator.jobStore(ids: ids, profile: profile, common: common)
        let results: [OperatorStore.CancelResult]
        do { results = try store.cancel(ids: jobIDs) } catch { throw ExitStatus.from(error) }
        var unchanged = 0
        for result in results {
            switch (result.statusBefore, result.statusAfter) {
            case (_, "failed"?) where result.cancelled:
                LineSink.standardOutput.write("\(result.id) cancelled: was pending, now failed (cancelled by operator)\n")
            case (_, "processing"?) where result.cancelled:
                LineSink.standardOutput.write("\(result.id) cancelled: processing, its outcome will not be retried\n")
            case (nil, _):
                unchanged += 1
                Operator.stderrLine("\(result.id) no such job", priority: 3)
            case (let status?, _):
                unchanged += 1
                Operator.stderrLine("\(result.id) is \(TerminalText.escaped(status)): unchanged", priority: 3)
            }
        }
        if unchanged > 0 { throw ExitCode(ExitStatus.usage) }
    }
}
