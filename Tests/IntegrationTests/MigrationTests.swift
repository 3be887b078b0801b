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

    func testConcurrentMigrationsBothSucceed() throws {
        let first = try startBinary(["migrate"], environment: ["DATABASE_URL": databaseURL])
        let second = try startBinary(["migrate"], environment: ["DATABASE_URL": databaseURL])
        XCTAssertEqual(first.result(timeout: 60).status, 0)
        XCTAssertEqual(second.result(timeout: 60).status, 0)
        XCTAssertEqual(try Migration.missing(on: db), [])
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
