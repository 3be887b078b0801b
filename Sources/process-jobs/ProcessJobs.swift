import ArgumentParser
import ProcessJobsCore

@main
struct ProcessJobs: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "process-jobs",
        abstract: "Moves background jobs from the job_queue table to the app's HTTP endpoints.",
        discussion: """
            Exit codes: 0 run done (job failures are data), 64 usage, 69 app unreachable,
            75 database unavailable, 77 token rejected, 78 configuration or schema missing.
            """,
        version: Version.current,
        subcommands: [RunCommand.self, MigrateCommand.self, StatusCommand.self, RetryCommand.self, PruneCommand.self,
                      EnqueueCommand.self, CheckCommand.self],
        defaultSubcommand: RunCommand.self)
}
