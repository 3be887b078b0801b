import ArgumentParser
import Logging
import PostgresClient
import ProcessJobsCore
#if canImport(Glibc)
import Glibc
#endif

/// The common options as plain values (CommonOptions holds them as the parser's property
/// wrappers, which exist only inside a parse): where the database is and how to log.
struct CommonSettings {
    var databaseURL: String?
    var dbTimeout: String?
    var logFormat: LineLogHandler.Format?
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
