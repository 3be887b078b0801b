import Foundation
import PostgresClient
@testable import ProcessJobsCore
import XCTest

/// Rows the app (or a person with psql) may leave in job_queue with values the contract never
/// meant: none may crash a run, block the queue or cost anyone else's outcome. Each runs the
/// binary, so a crash is an exit status here, not the end of the test process.
final class HostileRowTests: IntegrationTestCase {
    /// A table as found in the wild: without the original NOT NULL and CHECK constraints.
    private func loosenSchema() throws {
        try db.query("ALTER TABLE job_queue ALTER COLUMN job_type DROP NOT NULL, ALTER COLUMN payload DROP NOT NULL, DROP CONSTRAINT job_queue_status_check")
    }

    private func run(_ app: TestApp, _ extra: [String] = []) throws -> CommandResult {
        try runBinary(["run", "--log-format", "json"] + extra, environment: environment(app: app))
    }

    func testProcessingRowWithNullJobTypeIsRescuedWithoutACrash() throws {
        try loosenSchema()
        let app = try startApp()
        let row = try db.query("""
            INSERT INTO job_queue (job_type, payload, status, processed_at, locked_until, locked_by)
            VALUES (NULL, '{"projectId":"p"}', 'processing', now() - interval '1 hour', now() - interval '1 minute', 'dead-host:1')
            RETURNING id
            """).values[0][0]!
        let normal = try db.insertJob("generate-image")
        let result = try run(app)
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(try db.job(normal).status, "completed")
        let rescued = try db.query("SELECT status, retry_count, error_message FROM job_queue WHERE id = $1", [row]).values[0]
        XCTAssertEqual(rescued[0], "pending", "rescued; with no job_type no route claims it")
        XCTAssertEqual(rescued[1], "1")
        XCTAssertTrue(rescued[2]?.contains("lease expired: dead-host:1") ?? false, rescued[2] ?? "nil")
    }

    /// retry_count = 2147483647 on an expired lease: the rescue used to add 1 and make every run
    /// exit 78 (integer out of range) before claiming anything.
    func testExpiredLeaseWithTheLargestRetryCountFailsThatRowOnly() throws {
        let app = try startApp()
        let hostile = try db.insertJob("generate-image")
        try db.query("""
            UPDATE job_queue SET status = 'processing', retry_count = 2147483647, processed_at = now() - interval '1 hour',
                locked_until = now() - interval '1 minute', locked_by = 'dead-host:1' WHERE id = $1
            """, [hostile])
        try db.insertJobs("generate-image", count: 5)
        let result = try run(app)
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(try db.count(where: "status = 'completed'"), 5)
        let row = try db.job(hostile)
        XCTAssertEqual(row.status, "failed")
        XCTAssertEqual(row.retryCount, 2147483647, "a job that ends failed keeps its count")
        XCTAssertTrue(row.errorMessage?.contains("lease expired: dead-host:1") ?? false, row.errorMessage ?? "nil")
        XCTAssertTrue(row.errorMessage?.contains("no retries left") ?? false, row.errorMessage ?? "nil")
    }

    /// The largest retry_count and a payload that is not an object: the failure used to overflow
    /// the tick that also carried the outcomes of 20 jobs the app had answered.
    func testOneRowsValuesNeverCostOtherJobsTheirOutcomes() throws {
        let app = try startApp()
        try db.insertJobs("generate-image", count: 20)
        let hostile = try db.insertJob("generate-image", payload: "[1,2]")
        try db.query("UPDATE job_queue SET retry_count = 2147483647 WHERE id = $1", [hostile])
        let result = try run(app, ["--batch-size", "50"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(try db.count(where: "status = 'completed'"), 20)
        let row = try db.job(hostile)
        XCTAssertEqual(row.status, "failed")
        XCTAssertEqual(row.retryCount, 2147483647)
        XCTAssertEqual(row.errorMessage, "payload is not a JSON object (it is a JSON array): the app expects an object")
    }

    func testProcessingRowWithoutTimestampsIsRescued() throws {
        let app = try startApp()
        let id = try db.insertJob("generate-image")
        try db.query("UPDATE job_queue SET status = 'processing', processed_at = NULL, created_at = NULL, locked_until = NULL WHERE id = $1", [id])
        let result = try run(app, ["--backoff-base", "100ms"])
        XCTAssertEqual(result.status, 0, result.stderr)
        var row = try db.job(id)
        XCTAssertEqual(row.status, "pending", "rescued, waiting its backoff")
        XCTAssertEqual(row.retryCount, 1, "the lost attempt granted a retry")
        awaitCondition("the backoff to pass", timeout: 5) { ((try? db.job(id).runInSeconds) ?? 1) <= 0 }
        XCTAssertEqual(try run(app).status, 0)
        row = try db.job(id)
        XCTAssertEqual(row.status, "completed")
        XCTAssertEqual(try app.requests(forJob: id).map(\.attempt), [2])
    }

    func testNegativeAndNullRetryCountsAreSentAsTheFirstAttempt() throws {
        let app = try startApp()
        let negative = try db.insertJob("generate-image")
        let null = try db.insertJob("generate-image")
        try db.query("UPDATE job_queue SET retry_count = -4 WHERE id = $1", [negative])
        try db.query("UPDATE job_queue SET retry_count = NULL, max_retries = NULL WHERE id = $1", [null])
        let result = try run(app)
        XCTAssertEqual(result.status, 0, result.stderr)
        for id in [negative, null] {
            XCTAssertEqual(try db.job(id).status, "completed")
            XCTAssertEqual(try app.requests(forJob: id).first?.headers["x-job-attempt"], "1")
        }
    }

    func testStatusesOutsideTheFourAreNeverClaimed() throws {
        try loosenSchema()
        let app = try startApp()
        var odd: [String: String] = [:]
        for status in ["NULL", "'cancelled'", "'PENDING'", "'Pending '", "''"] {
            odd[status] = try db.query("""
                INSERT INTO job_queue (job_type, payload, status, run_at) VALUES ('generate-image', '{"projectId":"p"}', \(status), now() - interval '1 hour')
                RETURNING id
                """).values[0][0]!
        }
        let normal = try db.insertJob("generate-image")
        let result = try run(app)
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(try db.job(normal).status, "completed")
        for (status, id) in odd {
            XCTAssertEqual(try app.requests(forJob: id).count, 0, "status \(status) was sent")
            let row = try db.query("SELECT coalesce(status, 'NULL'), processed_at IS NULL AND locked_by IS NULL AND retry_count = 0 FROM job_queue WHERE id = $1", [id]).values[0]
            XCTAssertEqual(row[1], "t", "status \(status) was touched")
        }
    }

    /// max_retries NULL means the original default, 3: four attempts, and the job that failed
    /// them all reads retry_count 3 (retries granted), not 4.
    func testNullMaxRetriesMeansThreeAndAFailedJobKeepsItsCount() throws {
        let app = try startApp()
        let id = try db.insertJob("generate-image", payload: #"{"projectId":"boom"}"#)
        try db.query("UPDATE job_queue SET max_retries = NULL WHERE id = $1", [id])
        // A run ends when its claim finds nothing due; the retries come in the runs after it.
        for _ in 0..<8 where try db.job(id).status != "failed" {
            let result = try run(app, ["--backoff-base", "1ms", "--backoff-max", "1ms"])
            XCTAssertEqual(result.status, 0, result.stderr)
        }
        let row = try db.job(id)
        XCTAssertEqual(row.status, "failed")
        XCTAssertEqual(row.retryCount, 3)
        XCTAssertEqual(try app.requests(forJob: id).map(\.attempt), [1, 2, 3, 4])
    }
}
