import ArgumentParser
import PostgresClient
import ProcessJobsCore

struct MigrateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Upgrade job_queue in place (additive, idempotent), or print the SQL.")

    @Flag(help: "Print the migration SQL (the same as deploy/migration.sql) and change nothing.")
    var print = false

    @OptionGroup var common: CommonOptions

    func run() throws {
        if print {
            LineSink.standardOutput.write(Migration.sql)
            return
        }
        let log = common.makeLogger()
        let connection = try common.connect()
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
        for (function, owner) in result.skipped.sorted(by: { $0.key < $1.key }) {
            log.warning("function left as it is: another role owns it; while the old Edge Function runs beside process-jobs it may take jobs in backoff or under a lease: run migrate as that role to redefine it",
                        metadata: ["function": .string(function), "owner": .string(TerminalText.escaped(owner))])
        }
    }
}
