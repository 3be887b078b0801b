import ArgumentParser
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
        let added: [String]
        do {
            added = try Migration.apply(on: connection)
        } catch {
            switch error {
            case .lockTimeout(let holders):
                throw ExitStatus.fail(ExitStatus.databaseUnavailable, LockWaitMessage.text(holders, waited: Migration.lockTimeout))
            case .database(let error) where error.sqlState == "42501":
                throw ExitStatus.fail(ExitStatus.configuration, "migrate must run as the owner of job_queue (\(error.message)): connect as the table owner, e.g. postgres on Supabase (docs/supabase.md)")
            case .database(let error):
                throw ExitStatus.from(error)
            }
        }
        if added.isEmpty {
            log.info("schema already up to date", metadata: ["database": .string(connection.endpoint)])
        } else {
            log.info("schema migrated", metadata: ["database": .string(connection.endpoint),
                                                   "added": .string(added.joined(separator: ","))])
        }
    }
}
