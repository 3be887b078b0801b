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

    /// Opens the database connection: --database-url, else DATABASE_URL, else libpq's defaults.
    func connect() throws(ExitCode) -> Connection {
        let conninfo = databaseURL ?? ProcessEnvironment.current["DATABASE_URL"]
        do {
            return try Connection(conninfo: conninfo)
        } catch {
            throw ExitStatus.from(error)
        }
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
