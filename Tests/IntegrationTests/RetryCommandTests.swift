import Foundation
import PostgresClient
import XCTest

/// `process-jobs retry`: failed (or named) jobs back to pending, never processing or completed ones.
final class RetryCommandTests: IntegrationTestCase {
    @discardableResult
    private func insert(_ type: String = "generate-image", status: String, retryCount: Int = 3,
                        error: String? = "Generation failed: boom") throws -> String {
        try db.query("""
            INSERT INTO job_queue (job_type, payload, user_id, status, retry_count, error_message, processed_at, completed_at,
                                   locked_until, locked_by)
            VALUES ($1, '{"projectId":"p"}', 'u1', $2, $3::int, $4, now() - interval '1 hour',
                    CASE WHEN $2 IN ('completed', 'failed') THEN now() - interval '1 hour' END,
                    CASE WHEN $2 = 'processing' THEN now() + interval '5 minutes' END,
                    CASE WHEN $2 = 'processing' THEN 'web-1:1' END)
            RETURNING id
            """, [type, status, String(retryCount), error]).values[0][0]!
    }

    private func state(_ id: String) throws -> (status: String, retryCount: Int, error: String?, dueIn: Double, completed: Bool, lockedBy: String?) {
        let row = try db.job(id)
        return (row.status, row.retryCount, row.errorMessage, row.runInSeconds, row.completed, row.lockedBy)
    }

    func testNamedFailedJobsGoBackToPendingDueNowWithTheirErrorKept() throws {
        let a = try insert(status: "failed")
        let b = try insert("generate-aplus", status: "failed", error: "Project not found")
        let untouched = try insert(status: "failed")
        let result = try runBinary(["retry", a, b.uppercased()], environment: environment(app: nil))
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(result.stdout, "moved 2 jobs back to pending\n")
        for (id, error) in [(a, "Generation failed: boom"), (b, "Project not found")] {
            let row = try state(id)
            XCTAssertEqual(row.status, "pending")
            XCTAssertEqual(row.retryCount, 0)
            XCTAssertEqual(row.error, error, "kept until the next attempt")
            XCTAssertLessThanOrEqual(row.dueIn, 0, "due now")
            XCTAssertFalse(row.completed)
        }
        XCTAssertEqual(try state(untouched).status, "failed")

        // The next run sends it; success clears the error.
        let app = try startApp()
        XCTAssertEqual(try runBinary(["run"], environment: environment(app: app)).status, 0)
        XCTAssertEqual(try state(a).status, "completed")
        XCTAssertNil(try state(a).error)
        XCTAssertEqual(try app.requests(forJob: a).first?.attempt, 1, "retry_count 0: the attempt counts from 1 again")
    }

    func testNamedPendingJobBecomesDueNow() throws {
        let id = try insert(status: "pending", retryCount: 2)
        try db.query("UPDATE job_queue SET run_at = now() + interval '1 hour' WHERE id = $1", [id])
        let result = try runBinary(["retry", id], environment: environment(app: nil))
        XCTAssertEqual(result.status, 0, result.stderr)
        let row = try state(id)
        XCTAssertEqual(row.status, "pending")
        XCTAssertEqual(row.retryCount, 0)
        XCTAssertLessThanOrEqual(row.dueIn, 0)
    }

    func testProcessingCompletedAndUnknownIdsAreReportedAndLeftAlone() throws {
        let failed = try insert(status: "failed")
        let processing = try insert(status: "processing", retryCount: 1)
        let completed = try insert(status: "completed", retryCount: 0, error: nil)
        let unknown = "00000000-0000-4000-8000-000000000000"
        let result = try runBinary(["retry", failed, processing, completed, unknown], environment: environment(app: nil))
        XCTAssertEqual(result.status, 64, result.stderr)
        XCTAssertEqual(result.stdout, "moved 1 job back to pending\n")
        let lines = result.stderr.split(separator: "\n")
        XCTAssertEqual(lines.count, 3, result.stderr)
        XCTAssertTrue(lines.contains { $0.contains(processing) && $0.contains("is processing") }, result.stderr)
        XCTAssertTrue(lines.contains { $0.contains(completed) && $0.contains("is completed") }, result.stderr)
        XCTAssertTrue(lines.contains { $0.contains(unknown) && $0.contains("no such job") }, result.stderr)
        XCTAssertEqual(try state(failed).status, "pending")
        let held = try state(processing)
        XCTAssertEqual(held.status, "processing", "a leased job is never touched")
        XCTAssertEqual(held.lockedBy, "web-1:1")
        XCTAssertEqual(held.retryCount, 1)
        XCTAssertEqual(try state(completed).status, "completed")
    }

    func testAMalformedIdChangesNothing() throws {
        let failed = try insert(status: "failed")
        let result = try runBinary(["retry", failed, "not-a-uuid", "42"], environment: environment(app: nil))
        XCTAssertEqual(result.status, 64)
        XCTAssertEqual(result.stderr, "process-jobs: not a job id (UUID): 'not-a-uuid', '42'; nothing was changed\n")
        XCTAssertEqual(try state(failed).status, "failed")
    }

    func testFailedMovesEveryFailedJobOfTheType() throws {
        let images = [try insert(status: "failed"), try insert(status: "failed")]
        let aplus = try insert("generate-aplus", status: "failed")
        let processing = try insert(status: "processing")
        let completed = try insert(status: "completed", error: nil)
        let pending = try insert(status: "pending", retryCount: 2)

        let typed = try runBinary(["retry", "--failed", "--job-type", "generate-image"], environment: environment(app: nil))
        XCTAssertEqual(typed.status, 0, typed.stderr)
        XCTAssertEqual(typed.stdout, "moved 2 failed jobs of type generate-image back to pending (generate-image 2)\n")
        for id in images { XCTAssertEqual(try state(id).status, "pending") }
        XCTAssertEqual(try state(aplus).status, "failed")

        let all = try runBinary(["retry", "--failed"], environment: environment(app: nil))
        XCTAssertEqual(all.stdout, "moved 1 failed job back to pending (generate-aplus 1)\n")
        XCTAssertEqual(try state(aplus).status, "pending")
        XCTAssertEqual(try state(processing).status, "processing")
        XCTAssertEqual(try state(completed).status, "completed")
        XCTAssertEqual(try state(pending).retryCount, 2, "--failed leaves pending jobs alone")

        let none = try runBinary(["retry", "--failed"], environment: environment(app: nil))
        XCTAssertEqual(none.status, 0)
        XCTAssertEqual(none.stdout, "no failed job to retry\n")
    }

    func testUsageErrorsAreOneLine() throws {
        let id = try insert(status: "failed")
        for arguments in [["retry"], ["retry", id, "--failed"], ["retry", "--job-type", "generate-image"], ["retry", id, "--job-type", "x"]] {
            let result = try runBinary(arguments, environment: environment(app: nil))
            XCTAssertEqual(result.status, 64, "\(arguments)")
            XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, result.stderr)
            XCTAssertTrue(result.stderr.hasPrefix("process-jobs: "), result.stderr)
        }
        XCTAssertEqual(try state(id).status, "failed")
    }
}
