import ArgumentParser
import ProcessJobsCore

struct ResumeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resume",
        abstract: "End a route's pause on every runner, whoever set it (`pause`, or a 429/503 from the app).",
        discussion: "Every runner claims the route again at its next claim.")

    @Argument(help: ArgumentHelp("The job type to resume.", valueName: "type"))
    var type: String

    @OptionGroup var common: CommonOptions

    func run() throws {
        _ = common.makeLogger()
        do { try Routes.checkType(type) } catch { throw Operator.usage(error.description) }
        let store = OperatorStore(connection: try common.connect())
        let ended: String?
        do { ended = try store.resume(type: type) } catch { throw ExitStatus.from(error) }
        let name = TerminalText.escaped(type)
        if let ended {
            LineSink.standardOutput.write("resumed \(name) (it was \(TerminalText.escaped(ended)))\n")
        } else {
            LineSink.standardOutput.write("\(name) was not paused\n")
        }
    }
}
