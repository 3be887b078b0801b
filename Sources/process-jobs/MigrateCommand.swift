import ArgumentParser
import PostgresClient
import ProcessJobsCore

struct MigrateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Upgrade job_queue in place (additive, idempotent), or print the SQL.",
        discussion: """
            With --table-profile, also adds to the profile's table what the run needs (run_at, the
            lease columns, retry_count and max_retries when absent, the partial claim and lease
            indexes), never touching its existing columns, enum types or policies.
            """)

    @Flag(help: "Print the migration SQL (the same as deploy/migration.sql) and change nothing.")
    var print = false

    @OptionGroup var profileOption: ProfileOption
    @OptionGroup var common: CommonOptions

    func run() throws {
        let profile = try profileOption.load(environment: ProcessEnvironment.current).flatMap { $0 == .jobQueue ? nil : $0 }
        if print {
            LineSink.standardOutput.write(Migration.sql + (profile.map { "\n" + ProfileMigration.sql($0) } ?? ""))
            return
        }
        let log = common.makeLogger()
        let connection = try common.connect()
        if let profile {
            // The profile's own columns must be there before anything is added beside them.
            _ = try ProfileOption.table(profile, connection: connection, requireAdded: false)
        }
        let result: Migration.Plan
        do {
            result = try Migration.apply(on: connection)
        } catch {
            switch error {
            case .lockTimeout(let holders):
                throw ExitStatus.fail(ExitStatus.databaseUnavailable, LockWaitMessage.text(holders, waited: Migration.lockTimeout))
            case .database(let error) where error.sqlState == SQLState.insufficientPrivilege:
                throw ExitStatus.fail(ExitStatus.configuration, "migrate must run as the owner of job_queue (\(error.message)): connect as the table owner, e.g. postgres on Supabase (docs/supabase.md)")
            case .database(let error):
                throw ExitStatus.from(error)
            }
        }
        if result.changes.isEmpty {
            log.info("schema already up to date", metadata: ["database": .string(connection.endpoint)])
        } else {
            log.info("schema migrated", metadata: ["database": .string(connection.endpoint),
                                                   "added": .string(result.changes.joined(separator: ","))])
        }
        if let profile {
            do {
                let added = try ProfileMigration.apply(profile, on: connection)
                log.info(added.isEmpty ? "table profile's table already up to date" : "table profile's table migrated",
                         metadata: ["table": .string(profile.table), "added": .string(added.joined(separator: ","))])
            } catch {
                if error.sqlState == SQLState.insufficientPrivilege {
                    throw ExitStatus.fail(ExitStatus.configuration, "migrate must run as the owner of \(profile.table) (\(error.message))")
                }
                throw ExitStatus.from(error)
            }
        }
        for (function, owner) in result.skipped.sorted(by: { $0.key < $1.key }) {
            log.warning("function left as it is: another role owns it; while the old Edge Function runs beside process-jobs it may take jobs in backoff or under a lease: run migrate as that role to redefine it",
                        metadata: ["function": .string(function), "owner": .string(TerminalText.escaped(owner))])
        }
    }
}
