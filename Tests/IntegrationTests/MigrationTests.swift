import Foundation
import PostgresClient
@testable import ProcessJobsCore
import XCTest

/// `migrate` on the original schema: additive, idempotent, rows and functions kept.
final class MigrationTests: IntegrationTestCase {
    override var migrated: Bool { false }

    /// Rows in all four states, as the Edge Function left them.
    private func seedOriginalRows() throws -> [String: String] {
        var ids: [String: String] = [:]
        for status in ["pending", "processing", "completed", "failed"] {
            let rows = try db.query("""
                INSERT INTO job_queue (job_type, payload, status, retry_count, error_message, processed_at, completed_at, user_id)
                VALUES ('generate-image', '{"projectId":"p","imageType":"main"}', $1, $2, $3,
                        CASE WHEN $1 <> 'pending' THEN now() - interval '1 hour' END,
                        CASE WHEN $1 IN ('completed', 'failed') THEN now() END, 'u1')
                RETURNING id
                """, [status, status == "failed" ? "3" : "0", status == "failed" ? "boom" : nil])
            ids[status] = rows.values[0][0]!
        }
        return ids
    }

    func testMigratesOriginalTableInPlaceKeepingEveryRow() throws {
        let ids = try seedOriginalRows()
        let before = try db.query("SELECT id, job_type, payload::text, status, retry_count, error_message, processed_at::text, completed_at::text, user_id FROM job_queue ORDER BY id")

        let result = try runBinary(["migrate"], environment: ["DATABASE_URL": databaseURL])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stderr.contains("schema migrated"), result.stderr)

        let after = try db.query("SELECT id, job_type, payload::text, status, retry_count, error_message, processed_at::text, completed_at::text, user_id FROM job_queue ORDER BY id")
        XCTAssertEqual(before.values, after.values, "original columns must be untouched")
        XCTAssertEqual(try Migration.missing(on: db), [])
        // New columns: run_at filled for old rows, leases empty.
        XCTAssertEqual(try db.count(where: "run_at IS NULL OR locked_until IS NOT NULL OR locked_by IS NOT NULL"), 0)
        XCTAssertEqual(ids.count, 4)
    }

    func testSecondRunChangesNothing() throws {
        XCTAssertEqual(try runBinary(["migrate"], environment: ["DATABASE_URL": databaseURL]).status, 0)
        let columns = try db.query("SELECT count(*) FROM information_schema.columns WHERE table_name = 'job_queue'").values[0][0]
        let again = try runBinary(["migrate", "--log-format", "json"], environment: ["DATABASE_URL": databaseURL])
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertTrue(again.stderr.contains("already up to date"), again.stderr)
        XCTAssertEqual(try db.query("SELECT count(*) FROM information_schema.columns WHERE table_name = 'job_queue'").values[0][0], columns)
    }

    /// A database migrated before listen mode's UPDATE trigger became row-level (same schema
    /// version): `migrate` has that to do, replaces the trigger, and is then up to date.
    func testAnEarlierStatementLevelUpdateTriggerIsReplaced() throws {
        XCTAssertEqual(try runBinary(["migrate"], environment: ["DATABASE_URL": databaseURL]).status, 0)
        try db.query("DROP TRIGGER job_queue_notify_due_again ON job_queue")
        try db.query("""
            CREATE TRIGGER job_queue_notify_updated AFTER UPDATE ON job_queue
                REFERENCING OLD TABLE AS old_jobs NEW TABLE AS new_jobs
                FOR EACH STATEMENT EXECUTE FUNCTION process_jobs_notify_due()
            """)
        let upgrade = try runBinary(["migrate", "--log-format", "json"], environment: ["DATABASE_URL": databaseURL])
        XCTAssertEqual(upgrade.status, 0, upgrade.stderr)
        XCTAssertTrue(upgrade.stderr.contains("schema migrated") && upgrade.stderr.contains("job_queue_notify_due_again"), upgrade.stderr)
        XCTAssertEqual(try db.query("""
            SELECT string_agg(tgname || ' ' || (tgtype & 1 = 1), ',' ORDER BY tgname) FROM pg_trigger
            WHERE tgrelid = 'job_queue'::regclass AND NOT tgisinternal
            """).values[0][0], "job_queue_notify_due_again true,job_queue_notify_inserted false", "the UPDATE's row-level, the INSERT's per statement")
        let again = try runBinary(["migrate", "--log-format", "json"], environment: ["DATABASE_URL": databaseURL])
        XCTAssertTrue(again.stderr.contains("already up to date"), again.stderr)
    }

    func testOriginalFunctionsStillWorkAfterMigration() throws {
        try db.execute(script: Migration.sql)
        let id = try db.insertJob("generate-image")
        XCTAssertEqual(try db.query("SELECT id FROM get_next_job()").values[0][0], id)
        try db.query("SELECT mark_job_processing($1)", [id])
        XCTAssertEqual(try db.job(id).status, "processing")
        try db.query("SELECT mark_job_failed($1, 'first')", [id])
        XCTAssertEqual(try db.job(id).status, "pending")
        XCTAssertEqual(try db.job(id).retryCount, 1)
        try db.query("SELECT mark_job_completed($1)", [id])
        XCTAssertEqual(try db.job(id).status, "completed")
    }

    func testCreatesTableAndFunctionsWhenAbsent() throws {
        try db.query("DROP TABLE job_queue CASCADE")
        // CASCADE took get_next_job() (it returns the table's row type); the others remain.
        try db.query("DROP FUNCTION IF EXISTS get_next_job(), mark_job_processing(uuid), mark_job_completed(uuid), mark_job_failed(uuid, text)")
        let result = try runBinary(["migrate"], environment: ["DATABASE_URL": databaseURL])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(try Migration.missing(on: db), [])
        let id = try db.insertJob("generate-aplus", payload: #"{"projectId":"p"}"#)
        try db.query("SELECT mark_job_failed($1, 'x')", [id])
        XCTAssertEqual(try db.job(id).retryCount, 1)
        XCTAssertEqual(try db.query("SELECT count(*) FROM get_next_job()").values[0][0], "1")
    }

    func testConcurrentMigrationsReportTruthfully() throws {
        // Hold the migrators' lock until all three wait for it, so they truly run at once.
        let holder = try Connection(conninfo: databaseURL)
        try holder.query("SELECT pg_advisory_lock(hashtext('process-jobs migrate'))")
        let migrations = try (0..<3).map { _ in try startBinary(["migrate"], environment: ["DATABASE_URL": databaseURL]) }
        try awaitCondition("three migrations waiting for the advisory lock") {
            try db.query("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event = 'advisory'").values[0][0] == "3"
        }
        try holder.query("SELECT pg_advisory_unlock(hashtext('process-jobs migrate'))")
        let results = migrations.map { $0.result(timeout: 60) }
        for result in results { XCTAssertEqual(result.status, 0, result.stderr) }
        XCTAssertEqual(try Migration.missing(on: db), [])
        XCTAssertEqual(results.filter { $0.stderr.contains("schema migrated") }.count, 1, results.map(\.stderr).joined())
        XCTAssertEqual(results.filter { $0.stderr.contains("already up to date") }.count, 2, results.map(\.stderr).joined())
    }

    func testExistingRowsAreDueSinceTheirCreation() throws {
        try db.query("INSERT INTO job_queue (job_type, payload, created_at) VALUES ('generate-image', '{}', now() - interval '1 hour')")
        try db.query("INSERT INTO job_queue (job_type, payload, created_at) VALUES ('generate-image', '{}', NULL)")
        XCTAssertEqual(try runBinary(["migrate"], environment: ["DATABASE_URL": databaseURL]).status, 0)
        XCTAssertEqual(try db.count(where: "created_at IS NOT NULL AND run_at <> created_at"), 0, "run_at = created_at")
        XCTAssertEqual(try db.count(where: "created_at IS NULL AND run_at > now()"), 0)
        let status = try runBinary(["status", "--json"], environment: ["DATABASE_URL": databaseURL])
        let document = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any], status.stderr)
        let totals = try XCTUnwrap(document["totals"] as? [String: Any])
        XCTAssertEqual(try XCTUnwrap(totals["oldest_due_seconds"] as? Double), 3600, accuracy: 60)
    }

    func testNothingToDoTakesNoLock() throws {
        XCTAssertEqual(try runBinary(["migrate"], environment: ["DATABASE_URL": databaseURL]).status, 0)
        // A long read holds ACCESS SHARE; ALTER TABLE would queue behind it and the app's inserts behind that.
        let reader = try Connection(conninfo: databaseURL)
        try reader.query("BEGIN")
        try reader.query("SELECT count(*) FROM job_queue")
        let started = Date()
        let again = try runBinary(["migrate"], environment: ["DATABASE_URL": databaseURL], timeout: 10)
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertTrue(again.stderr.contains("already up to date"), again.stderr)
        XCTAssertLessThan(Date().timeIntervalSince(started), 3, "migrate waited for a lock it did not need")
        try reader.query("ROLLBACK")
    }

    func testALockWaitIsBoundedAndNamesWhatHoldsIt() throws {
        let reader = try Connection(conninfo: databaseURL)
        let pid = try XCTUnwrap(reader.query("SELECT pg_backend_pid()").values[0][0])
        try reader.query("BEGIN")
        try reader.query("SELECT count(*) AS held_by_the_report FROM job_queue")
        let result = try runBinary(["migrate"], environment: ["DATABASE_URL": databaseURL], timeout: 30)
        XCTAssertEqual(result.status, 75, result.stderr)
        XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, result.stderr)
        XCTAssertTrue(result.stderr.contains("pid \(pid)"), result.stderr)
        XCTAssertTrue(result.stderr.contains("held_by_the_report"), "the holder's query: \(result.stderr)")
        XCTAssertTrue(result.stderr.contains("nothing was changed"), result.stderr)
        try reader.query("ROLLBACK")
        XCTAssertNotEqual(try Migration.missing(on: db), [], "nothing changed")
        XCTAssertEqual(try runBinary(["migrate"], environment: ["DATABASE_URL": databaseURL]).status, 0, "once the read is done")
    }

    /// A database migrated by an earlier release still has the Edge Function's original bodies:
    /// migrate replaces them; the rollback SQL of docs/supabase.md puts them back.
    func testReplacesAndRestoresTheOriginalFunctionBodies() throws {
        let rollback = try String(contentsOf: Paths.repository.appendingPathComponent("deploy/supabase/restore-original-functions.sql"), encoding: .utf8)
        let guide = try String(contentsOf: Paths.repository.appendingPathComponent("docs/supabase.md"), encoding: .utf8)
        XCTAssertTrue(guide.contains(rollback.trimmingCharacters(in: .whitespacesAndNewlines)), "docs/supabase.md shows the rollback SQL verbatim")

        XCTAssertEqual(try runBinary(["migrate"], environment: ["DATABASE_URL": databaseURL]).status, 0)
        try db.execute(script: rollback)
        let later = try db.insertJob("generate-image")
        try db.query("UPDATE job_queue SET run_at = now() + interval '1 hour' WHERE id = $1", [later])
        XCTAssertEqual(try db.query("SELECT id FROM get_next_job()").values.map { $0[0] }, [later], "the original ignores run_at")
        XCTAssertEqual(try Migration.outdated(on: db).sorted(), Migration.functions.sorted())

        let result = try runBinary(["migrate"], environment: ["DATABASE_URL": databaseURL])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stderr.contains("schema migrated") && result.stderr.contains("get_next_job()"), result.stderr)
        XCTAssertEqual(try db.query("SELECT count(*) FROM get_next_job()").values[0][0], "0")
        XCTAssertEqual(try Migration.outdated(on: db), [])
    }

    func testShippedFileEqualsPrintedMigration() throws {
        let printed = try runBinary(["migrate", "--print"])
        XCTAssertEqual(printed.status, 0)
        let file = try String(contentsOf: Paths.repository.appendingPathComponent("deploy/migration.sql"), encoding: .utf8)
        XCTAssertEqual(printed.stdout, file, "deploy/migration.sql must equal `process-jobs migrate --print`")
        XCTAssertEqual(printed.stdout, Migration.sql)
    }

    func testRunOnUnmigratedSchemaSaysToMigrate() throws {
        let app = try startApp()
        try db.insertJob("generate-image")
        let result = try runBinary(["run"], environment: environment(app: app))
        XCTAssertEqual(result.status, 78, result.stderr)
        XCTAssertTrue(result.stderr.contains("process-jobs migrate"), result.stderr)
        XCTAssertEqual(try db.count(where: "status = 'pending'"), 1, "no job may be lost")
    }
}
