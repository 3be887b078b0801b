import ArgumentParser
import ProcessJobsCore
#if canImport(Glibc)
import Glibc
#endif

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
                      EnqueueCommand.self, CheckCommand.self, PauseCommand.self, ResumeCommand.self, CancelCommand.self],
        defaultSubcommand: RunCommand.self)

    static func main() {
        openStandardDescriptors()
        // The timer's invocations (`process-jobs run`, as the systemd unit runs it with no
        // PROCESS_JOBS_ARGS, or with a table profile) leave every other option at its default.
        // Skipping the parser there saves about 3 ms of an idle run's CPU (it reflects over every
        // option of the command several times per parse; docs/performance.md, "Idle run").
        guard let request = TimerInvocation.request(Array(CommandLine.arguments.dropFirst())) else { return main(nil) }
        do {
            try RunCommand.run(request)
        } catch {
            exit(withError: error)
        }
    }

    /// Descriptors 0-2 closed at start (`run 2>&-`) would be the next ones opened: the database
    /// socket would become "stderr" and log lines would go into the protocol stream. /dev/null
    /// takes their place first.
    private static func openStandardDescriptors() {
        for descriptor: Int32 in 0...2 where fcntl(descriptor, F_GETFD) == -1 && errno == EBADF {
            let opened = open("/dev/null", O_RDWR)
            if opened >= 0 && opened != descriptor {
                dup2(opened, descriptor)
                close(opened)
            }
        }
    }
}
