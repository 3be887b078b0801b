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

    /// The same options as plain values, for code that also runs without a parse (`run`).
    var settings: CommonSettings {
        CommonSettings(databaseURL: databaseURL, dbTimeout: dbTimeout, logFormat: logFormat, logLevel: logLevel)
    }

    /// A password in argv would sit in `ps` for the whole run.
    func validate() throws {
        if let databaseURL, ConninfoText.hasPassword(databaseURL) {
            throw ExitStatus.fail(ExitStatus.usage, "--database-url must not carry a password (anyone can read it in `ps`): put the URL in DATABASE_URL, or the password in PGPASSWORD or ~/.pgpass")
        }
        _ = try databaseTimeout()
    }

    // What CommonSettings does, for the commands that are always parsed.

    func makeLogger(label: String = "process-jobs", sink: LineSink = .standardError) -> Logger {
        settings.makeLogger(label: label, sink: sink)
    }

    func databaseTimeout() throws(ExitCode) -> Double {
        try settings.databaseTimeout()
    }

    func connect(stop: StopSignal? = nil) throws(ExitCode) -> Connection {
        try settings.connect(stop: stop)
    }

    func open(stop: StopSignal? = nil) throws(PostgresError) -> Connection {
        try settings.open(stop: stop)
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
