import PostgresClient
import ProcessJobsCore

/// `check`'s lines about what the database role may do to job_queue's rows: see them past row
/// level security, and write them. Without either a run claims nothing and still exits 0.
enum AccessChecks {
    static func add(to report: inout CheckReport, store: OperatorStore?, schemaPresent: Bool) {
        guard let store, schemaPresent else {
            report.add(.skip, "row level security", "skipped: needs the database and job_queue")
            report.add(.skip, "write access", "skipped: needs the database and job_queue")
            return
        }
        do {
            if let security = try store.rowSecurity() {
                switch security.verdict {
                case .pass(let detail): report.add(.pass, "row level security", detail)
                case .fail(let detail): report.add(.fail(exitCode: ExitStatus.configuration), "row level security", detail)
                }
            } else {
                report.add(.skip, "row level security", "skipped: no job_queue table")
            }
        } catch {
            let problem = ExitStatus.describe(error)
            report.add(.fail(exitCode: problem.code), "row level security", problem.message)
        }
        do {
            let missing = try store.missingPrivileges()
            let role = try store.connection.query("SELECT current_user::text").values.first?[0] ?? "this role"
            let grant = "GRANT SELECT, INSERT, UPDATE, DELETE ON job_queue TO \(role) (deploy/supabase/least-privilege.sql)"
            if missing.contains("SELECT") || missing.contains("UPDATE") {
                report.add(.fail(exitCode: ExitStatus.configuration), "write access",
                           "role \(role) lacks \(missing.joined(separator: ", ")) on job_queue, so runs cannot claim or record jobs: \(grant)")
                return
            }
            do {
                try store.probeWrite()
            } catch where error.sqlState == SQLState.readOnlySQLTransaction {
                report.add(.fail(exitCode: ExitStatus.configuration), "write access",
                           "the connection is read-only (\(error.message)): point DATABASE_URL at the primary, not a standby or read replica, and without default_transaction_read_only")
                return
            }
            if missing.isEmpty {
                report.add(.pass, "write access", "role \(role) may select, update, insert and delete job_queue rows (a test update, rolled back, went through)")
            } else {
                let needs = missing.map { $0 == "INSERT" ? "enqueue needs INSERT" : "prune needs DELETE" }.joined(separator: ", ")
                report.add(.warn, "write access", "role \(role) can run jobs but lacks \(missing.joined(separator: ", ")) on job_queue (\(needs)): \(grant)")
            }
        } catch {
            let problem = ExitStatus.describe(error)
            report.add(.fail(exitCode: problem.code), "write access", problem.message)
        }
    }

    /// A one-line warning for `status` when row level security hides the queue from this role, else nil.
    static func rowSecurityWarning(_ store: OperatorStore) -> String? {
        guard let security = try? store.rowSecurity(), case .fail(let detail) = security.verdict else { return nil }
        return "warning: the queue below may look emptier than it is: " + detail
    }
}
