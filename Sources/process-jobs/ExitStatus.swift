import ArgumentParser
import PostgresClient
import ProcessJobsCore

/// The contract's exit codes, each with the one line that tells the operator what to do.
enum ExitStatus {
    static let usage: Int32 = 64
    static let appUnreachable: Int32 = 69
    static let databaseUnavailable: Int32 = 75
    static let tokenRejected: Int32 = 77
    static let configuration: Int32 = 78

    /// Prints `message` as one line on stderr and returns the ExitCode to throw.
    static func fail(_ code: Int32, _ message: String) -> ExitCode {
        // Under journald the line carries the error priority, so `journalctl -p err` shows it.
        let line = Operator.journaldPrefix(3) + "process-jobs: " + message.split(whereSeparator: \.isNewline).joined(separator: " ") + "\n"
        LineSink.standardError.write(line)
        return ExitCode(code)
    }

    static func from(_ error: ConfigError) -> ExitCode {
        switch error {
        case .usage(let text): fail(usage, text)
        case .configuration(let text): fail(configuration, text)
        }
    }

    /// Schema problems and refusals need a person (78); a server that is down or restarting
    /// only needs time (75): the timer's next run picks up where this one stopped.
    static func from(_ error: PostgresError) -> ExitCode {
        switch error.sqlState {
        case "42P01", "42703", "42883":
            return fail(configuration, "the job_queue table is missing or not migrated (\(error.message)): run `process-jobs migrate`")
        case "42501":
            return fail(configuration, "the database role lacks a privilege (\(error.message)): grant it as docs/supabase.md shows for the process-jobs role")
        default:
            break
        }
        if error.kind == .connect {
            if error.isTransient {
                return fail(databaseUnavailable, "database unavailable: \(error.message); nothing was changed, the next run will try again")
            }
            return fail(configuration, "cannot connect to the database: \(error.message); check DATABASE_URL (or the PG* variables)")
        }
        if error.isTransient {
            return fail(databaseUnavailable, "database unavailable: \(error.description); jobs in flight keep their lease and come back when it expires")
        }
        return fail(configuration, "database error: \(error.description)")
    }
}
