import ArgumentParser
import Logging
import PostgresClient
import ProcessJobsCore
#if canImport(Glibc)
import Glibc
#endif

/// Options every command shares: where the database is and how to log.
struct CommonOptions: ParsableArguments {
    @Option(help: ArgumentHelp("PostgreSQL URI or key=value conninfo (default: $DATABASE_URL, else libpq's PG* variables).",
                               valueName: "url"))
    var databaseURL: String?

    @Option(help: ArgumentHelp("Longest wait for the database: connecting, and each statement (then cancelled; a run exits 75) (default 30s).",
                               valueName: "duration"))
    var dbTimeout: String?

    @Option(help: ArgumentHelp("text or json (default: text on a terminal, json otherwise).", valueName: "format"))
    var logFormat: LineLogHandler.Format?

    @Option(help: ArgumentHelp("error, warning, info or debug.", valueName: "level"))
    var logLevel: LogLevel = .info

    /// Sets up logging for the process and returns the logger. `sink` lets a live progress line
    /// clear itself before each log line.
    func makeLogger(label: String = "process-jobs", sink: LineSink = .standardError) -> Logger {
        let environment = ProcessEnvironment.current
        let format = logFormat ?? (isatty(2) == 1 ? .text : .json)
        let journald = environment["JOURNAL_STREAM"].map { !$0.isEmpty } ?? false
        let level = logLevel.level
        LoggingSystem.bootstrapOnce {
            LineLogHandler(format: format, level: level, journald: journald, sink: sink)
        }
        return Logger(label: label)
    }

    /// A password in argv would sit in `ps` for the whole run.
    func validate() throws {
        if let databaseURL, ConninfoText.hasPassword(databaseURL) {
            throw ExitStatus.fail(ExitStatus.usage, "--database-url must not carry a password (anyone can read it in `ps`): put the URL in DATABASE_URL, or the password in PGPASSWORD or ~/.pgpass")
        }
        _ = try databaseTimeout()
    }

    /// --db-timeout in seconds (default 30).
    func databaseTimeout() throws(ExitCode) -> Double {
        guard let dbTimeout else { return 30 }
        return try Operator.duration(dbTimeout, flag: "--db-timeout")
    }

    /// Opens the database connection: --database-url, else DATABASE_URL, else libpq's defaults.
    /// Waits on it act on `stop` (within a second).
    func connect(stop: StopSignal? = nil) throws(ExitCode) -> Connection {
        do {
            return try open(stop: stop)
        } catch {
            throw ExitStatus.from(error)
        }
    }

    /// The connection, or libpq's error (for `check`, which prints it as one of its lines).
    func open(stop: StopSignal? = nil) throws(PostgresError) -> Connection {
        let conninfo = databaseURL ?? ProcessEnvironment.current["DATABASE_URL"]
        let timeout = (try? databaseTimeout()) ?? 30
        return try Connection(conninfo: conninfo, timeout: timeout,
                              stop: stop.map { signal in .init(descriptor: signal.wakeDescriptor) { signal.received() > 0 } })
    }
}

enum LogLevel: String, ExpressibleByArgument, CaseIterable {
    case error, warning, info, debug

    var level: Logger.Level {
        switch self {
        case .error: .error
        case .warning: .warning
        case .info: .info
        case .debug: .debug
        }
    }
}

extension LineLogHandler.Format: ExpressibleByArgument {}

extension LoggingSystem {
    nonisolated(unsafe) private static var bootstrapped = false

    /// swift-log allows one bootstrap per process; the repeat mode asks again each run.
    static func bootstrapOnce(_ factory: @escaping @Sendable () -> any LogHandler) {
        guard !bootstrapped else { return }
        bootstrapped = true
        bootstrap { _ in factory() }
    }
}

/// The process environment as a dictionary, read once.
enum ProcessEnvironment {
    static let current: [String: String] = {
        var values: [String: String] = [:]
        var pointer = environ
        while let entry = pointer.pointee {
            let text = String(cString: entry)
            if let equals = text.firstIndex(of: "=") {
                values[String(text[..<equals])] = String(text[text.index(after: equals)...])
            }
            pointer += 1
        }
        return values
    }()
}
