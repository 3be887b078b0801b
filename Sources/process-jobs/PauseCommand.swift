import ArgumentParser
import ProcessJobsCore

struct PauseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pause",
        abstract: "Hold a route (job type) off on every runner: until resumed, or for a while.",
        discussion: """
            The pause is shared state in the database (process_jobs.route_pause): every runner on
            every host honours it at its next claim, and its jobs stay pending, untouched. A
            longer pause already in force (a 429 from the app, or an earlier pause) stays.
            `process-jobs resume TYPE` ends it.
            """)

    @Argument(help: ArgumentHelp("The job type to hold off.", valueName: "type"))
    var type: String
    @Option(name: .customLong("for"), help: ArgumentHelp("How long (e.g. 10m, 2h); without it, until resumed.", valueName: "duration"))
    var duration: String?

    @OptionGroup var common: CommonOptions

    static let reason = "paused by operator"

    func run() throws {
        _ = common.makeLogger()
        do { try Routes.checkType(type) } catch { throw Operator.usage(error.description) }
        let seconds = try duration.map { text throws(ExitCode) in try Operator.duration(text, flag: "--for") }
        let store = OperatorStore(connection: try common.connect())
        let pause: OperatorStore.Pause?
        do { pause = try store.pause(type: type, seconds: seconds, reason: Self.reason) } catch { throw ExitStatus.from(error) }
        let name = TerminalText.escaped(type)
        guard let pause else { throw ExitStatus.fail(ExitStatus.configuration, "the pause of \(name) was not recorded") }
        let until = pause.until.isInfinite ? "until resumed" : "until \(TimeText.rfc3339(pause.until))"
        if pause.reason == Self.reason {
            LineSink.standardOutput.write("paused \(name) \(until) on every runner\n")
        } else {
            LineSink.standardOutput.write("\(name) stays paused \(until) (\(TerminalText.escaped(pause.reason))): that pause is longer\n")
        }
    }
}
