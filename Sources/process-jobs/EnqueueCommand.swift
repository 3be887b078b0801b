import ArgumentParser
import PostgresClient
import ProcessJobsCore
#if canImport(Glibc)
import Glibc
#endif

struct EnqueueCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "enqueue",
        abstract: "Insert a job as the app does and print its id.",
        discussion: """
            --run-at takes an RFC 3339 time with its offset (2025-01-31T09:00:00Z) or a duration
            from now (+30s, +5m, +2h, +1d); without it the job is due at once.
            """)

    @Argument(help: ArgumentHelp("The job type, e.g. generate-image.", valueName: "type"))
    var type: String
    @Option(help: ArgumentHelp("The payload: a JSON object, or - to read it from stdin (with --table-profile and payload columns: an object keyed by those columns).", valueName: "json"))
    var payload: String
    @Option(help: ArgumentHelp("The user the job belongs to (user_id; sent as userId).", valueName: "id"))
    var userId: String?
    @Option(help: ArgumentHelp("Failed attempts allowed before the job fails (default: the table's, 3).", valueName: "n"))
    var maxRetries: Int?
    @Option(help: ArgumentHelp("Earliest run: RFC 3339 time or +DURATION (default: now).", valueName: "time"))
    var runAt: String?

    @OptionGroup var profileOption: ProfileOption
    @OptionGroup var common: CommonOptions

    func run() throws {
        _ = common.makeLogger()
        let profile = try profileOption.load(environment: ProcessEnvironment.current)
        let text = payload == "-" ? Self.readStandardInput() : payload
        let request: EnqueueRequest
        do {
            request = try EnqueueRequest(type: type, payload: text, userId: userId, maxRetries: maxRetries, runAt: runAt)
        } catch {
            throw Operator.usage(error.description)
        }
        if profile == nil && Routes.defaults[type] == nil {
            Operator.stderrLine("note: \(type) has no default route; a run claims it only with --route \(type)=/api/...", priority: 5)
        }
        let connection = try common.connect()
        let table = try ProfileOption.table(profile, connection: connection)
        if let problem = table.enqueueProblem(request) { throw Operator.usage(problem) }
        if let problem = table.newIDProblem { throw ExitStatus.fail(ExitStatus.configuration, problem) }
        let store = OperatorStore(connection: connection, table: table)
        let id: String
        do {
            id = try store.enqueue(request)
        } catch {
            switch error.sqlState {
            case SQLState.foreignKeyViolation:
                throw Operator.usage("--user-id \(userId ?? ""): no such user (\(error.message))")
            case SQLState.notNullViolation, SQLState.checkViolation, SQLState.invalidTextRepresentation,
                 SQLState.numericValueOutOfRange, SQLState.datetimeFieldOverflow:
                throw Operator.usage("the database refused the job: \(error.message)")
            default:
                throw ExitStatus.from(error)
            }
        }
        LineSink.standardOutput.write(id + "\n")
    }

    static func readStandardInput() -> String {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(0, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { break }
            bytes += chunk[0..<count]
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
