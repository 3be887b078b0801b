import ArgumentParser
import PostgresClient
import ProcessJobsCore

/// --table-profile: serve a job table other than job_queue (docs/profiles.md). Read before
/// anything connects; checked against the catalog once connected. Without it nothing is read.
struct ProfileOption: ParsableArguments {
    @Option(name: .customLong("table-profile"), help: ArgumentHelp("Serve the job table this JSON profile describes instead of job_queue (default: $PROCESS_JOBS_TABLE_PROFILE; deploy/profiles/ has examples).", valueName: "path"))
    var tableProfile: String?

    /// The profile in --table-profile, else $PROCESS_JOBS_TABLE_PROFILE; nil: job_queue. A file
    /// that cannot be read or is not a profile ends the command with 78 and one line.
    func load(environment: [String: String]) throws(ExitCode) -> TableProfile? {
        try Self.load(tableProfile, environment: environment)
    }

    /// As `load`, for the flag's value as a plain value (`run` without a parse).
    static func load(_ tableProfile: String?, environment: [String: String]) throws(ExitCode) -> TableProfile? {
        do {
            return try read(tableProfile, environment: environment)
        } catch {
            throw ExitStatus.from(error)
        }
    }

    /// As `load`, the problem as a value (`check` reports it as one of its lines).
    func read(environment: [String: String]) throws(ConfigError) -> TableProfile? {
        try Self.read(tableProfile, environment: environment)
    }

    static func read(_ tableProfile: String?, environment: [String: String]) throws(ConfigError) -> TableProfile? {
        guard let path = tableProfile ?? environment["PROCESS_JOBS_TABLE_PROFILE"].flatMap({ $0.isEmpty ? nil : $0 }) else {
            return nil
        }
        let file: FileText
        do {
            file = try FileText.load(path)
        } catch {
            let why = switch error {
            case .missing: "no such file"
            case .unreadable(let reason): reason
            case .tooLarge: "larger than 1 MiB"
            case .notRegular: "not a regular file"
            }
            throw .configuration("table profile \(path): \(why)")
        }
        return try TableProfile.decode(file.bytes, source: path)
    }

    /// `profile`'s table as the catalog has it (job_queue when nil); a profile that does not fit
    /// ends the command with 78 and the one line that names the problem.
    static func table(_ profile: TableProfile?, connection: Connection, requireAdded: Bool = true) throws(ExitCode) -> JobTable {
        switch check(profile, connection: connection, requireAdded: requireAdded) {
        case .success(let table): return table
        case .failure(let problem): throw ExitStatus.fail(problem.code, problem.message)
        }
    }

    struct Problem: Error {
        var code: Int32
        var message: String
    }

    /// As `table`, the problem as a value.
    static func check(_ profile: TableProfile?, connection: Connection, requireAdded: Bool = true) -> Result<JobTable, Problem> {
        guard let profile else { return .success(.jobQueue) }
        do {
            return .success(try JobTable.check(profile, connection: connection, requireAdded: requireAdded))
        } catch let error as ConfigError {
            return .failure(Problem(code: ExitStatus.code(for: error), message: error.description))
        } catch let error as PostgresError {
            let (code, message) = ExitStatus.describe(error)
            return .failure(Problem(code: code, message: message))
        } catch {
            return .failure(Problem(code: ExitStatus.configuration, message: "table profile: \(error)"))
        }
    }
}
