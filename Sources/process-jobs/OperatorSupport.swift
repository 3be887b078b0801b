import ArgumentParser
import PostgresClient
import ProcessJobsCore
#if canImport(Glibc)
import Glibc
#endif

/// What the operator commands share: one-line usage errors, database errors as check lines.
enum Operator {
    /// A one-line usage error (exit 64).
    static func usage(_ message: String) -> ExitCode {
        ExitStatus.fail(ExitStatus.usage, message)
    }

    /// A duration flag in seconds, or a one-line usage error.
    static func duration(_ text: String, flag: String, allowZero: Bool = false) throws(ExitCode) -> Double {
        let seconds: Double
        do {
            seconds = try DurationText.seconds(text)
        } catch {
            throw usage("\(flag): \(error.description)")
        }
        if !allowZero && seconds <= 0 { throw usage("\(flag) must be greater than zero") }
        return seconds
    }

    /// "<3>" (and so on) when stderr goes to journald (JOURNAL_STREAM set), else "": the syslog
    /// priority journald reads from the start of a line.
    static func journaldPrefix(_ priority: Int) -> String {
        (ProcessEnvironment.current["JOURNAL_STREAM"] ?? "").isEmpty ? "" : "<\(priority)>"
    }

    /// One line on stderr with the "process-jobs: " prefix (and the journald priority).
    static func stderrLine(_ message: String, priority: Int) {
        LineSink.standardError.write(journaldPrefix(priority) + "process-jobs: " + message + "\n")
    }

    /// The store of `profile`'s table (job_queue when nil) for a command given job ids, and the
    /// ids as the table compares them (a uuid lowercased). job_queue's ids are checked before
    /// anything connects; a profile's once its id type is known (only uuids have a form to check).
    static func jobStore(ids: [String], profile: TableProfile?, common: CommonOptions) throws(ExitCode)
        -> (store: OperatorStore, ids: [String]) {
        func refuseMalformed() throws(ExitCode) {
            let malformed = ids.filter { !JobID.isValid($0) }
            if !malformed.isEmpty {
                throw usage("not a job id (UUID): \(malformed.map { "'\(TerminalText.escaped($0))'" }.joined(separator: ", ")); nothing was changed")
            }
        }
        if profile == nil { try refuseMalformed() }
        let connection = try common.connect()
        let table = try ProfileOption.table(profile, connection: connection)
        if profile != nil && table.idIsUUID { try refuseMalformed() }
        return (OperatorStore(connection: connection, table: table), table.idIsUUID ? ids.map { $0.lowercased() } : ids)
    }

    /// Wall-clock Unix seconds (for metrics timestamps; nothing written to the database uses it).
    static func unixNow() -> Double {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
    }
}
