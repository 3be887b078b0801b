import ArgumentParser
import PostgresClient
import ProcessJobsCore

/// The contract's exit codes, and the one place where an error or a run's end becomes one: each
/// with the one line that tells the operator what to do.
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

    static func code(for error: ConfigError) -> Int32 {
        switch error {
        case .usage: usage
        case .configuration: configuration
        }
    }

    static func from(_ error: ConfigError) -> ExitCode {
        fail(code(for: error), error.description)
    }

    static func from(_ error: PostgresError) -> ExitCode {
        let (code, message) = describe(error)
        return fail(code, message)
    }

    /// A database error as an exit code and the line that says what to do, without printing it
    /// (`check` prints it as one of its lines). Schema problems and refusals need a person (78);
    /// a server that is down or restarting only needs time (75): the timer's next run picks up
    /// where this one stopped.
    static func describe(_ error: PostgresError) -> (code: Int32, message: String) {
        if let state = error.sqlState, SQLState.schemaMissing.contains(state) {
            return (configuration, "the job_queue table is missing or not migrated (\(error.message)): run `process-jobs migrate`")
        }
        if error.sqlState == SQLState.insufficientPrivilege {
            return (configuration, "the database role lacks a privilege (\(error.message)): grant it as docs/supabase.md shows for the process-jobs role")
        }
        if error.kind == .connect {
            if error.isTransient {
                return (databaseUnavailable, "database unavailable: \(error.message); nothing was changed, the next run will try again")
            }
            return (configuration, "cannot connect to the database: \(error.message); check DATABASE_URL (or the PG* variables)")
        }
        if error.isTransient {
            return (databaseUnavailable, "database unavailable: \(error.description); jobs in flight keep their lease and come back when it expires")
        }
        return (configuration, "database error: \(error.description)")
    }

    /// The metrics' stop label for a run that ended on a database error.
    static func stopName(forDatabaseExit code: Int32) -> String {
        code == databaseUnavailable ? "database-unavailable" : "database-error"
    }

    /// The exit code of a run that ended this way; the failing ones with their line.
    static func code(for reason: StopReason) -> Int32 {
        switch reason {
        case .tokenRejected: tokenRejected
        case .appUnreachable: appUnreachable
        case .schemaOutdated: configuration
        case .drained, .onceDone, .maxRuntime, .signal, .rateLimited: 0
        }
    }

    /// Throws the run's failure, if it ended with one.
    static func check(_ report: RunReport, configuration resolved: RunConfiguration, credentials: Credentials) throws(ExitCode) {
        switch report.stopReason {
        case .tokenRejected(let status) where credentials.appToken == nil:
            throw fail(tokenRejected, "the app rejected the request (HTTP \(status)); with --no-bearer-token only the signature proves it: check that the app verifies with the secret from \(credentials.signing?.source ?? "-") (docs/signing.md); the job was released untouched")
        case .tokenRejected(let status):
            // A route at another origin gets no key: its 401 may be asking for a token of its own.
            let foreign = resolved.foreignTypes.subtracting(resolved.routeTokenFiles.keys).sorted()
            let hint = foreign.isEmpty ? "" : " (routes at another origin get no key: if \(foreign.joined(separator: ", ")) answered, give it --route-token TYPE=FILE)"
            throw fail(tokenRejected, "the app rejected the service-role key (HTTP \(status))\(hint): check that SUPABASE_SERVICE_ROLE_KEY is the key the app expects; the job was released untouched")
        case .appUnreachable(let error):
            throw fail(appUnreachable, "the app at \(RedactedURL.text(resolved.appURL.description)) is unreachable (\(error)): \(UnreachableAdvice.advice(for: error)); unsent jobs were released uncharged")
        case .schemaOutdated(let found, let needed):
            throw fail(configuration, "the database schema is version \(found), this runner needs \(needed): run `process-jobs migrate` (it is additive and safe while older runners run)")
        case .drained, .onceDone, .maxRuntime, .signal, .rateLimited:
            return
        }
    }
}
