import Foundation
import PostgresClient
@testable import ProcessJobsCore
import XCTest

/// Fault 8: hostile rows beside 50 normal jobs, on a table without the original NOT NULL and
/// CHECK constraints (as found in the wild). No run crashes or fails, every normal job completes,
/// each hostile row ends in a defined state (with a clear error_message where it failed or was
/// rescued), and no row is lost.
final class FaultSuiteHostileRowsTests: IntegrationTestCase {
    /// name, SQL values for (job_type, payload, status, retry_count, max_retries, processed_at,
    /// created_at, locked_until, locked_by, run_at), the status it must end in, and what its
    /// error_message must contain (nil: none).
    private let hostile: [(name: String, values: String, status: String?, error: String?)] = [
        ("null job_type, expired lease", #"NULL, '{"projectId":"p"}', 'processing', 0, 3, now() - interval '1 hour', now(), now() - interval '1 minute', 'dead:1', now()"#,
         "pending", "lease expired: dead:1"),
        ("largest retry_count, expired lease", #"'generate-image', '{"projectId":"p"}', 'processing', 2147483647, 3, now() - interval '1 hour', now(), now() - interval '1 minute', 'dead:2', now()"#,
         "failed", "no retries left"),
        ("largest retry_count, array payload", #"'generate-image', '[1]', 'pending', 2147483647, 3, NULL, now(), NULL, NULL, now()"#,
         "failed", "payload is not a JSON object (it is a JSON array)"),
        ("largest retry_count and max_retries", #"'generate-image', '{"projectId":"p"}', 'pending', 2147483647, 2147483647, NULL, now(), NULL, NULL, now()"#,
         "completed", nil),
        ("null retry_count", #"'generate-aplus', '{"projectId":"p"}', 'pending', NULL, 3, NULL, now(), NULL, NULL, now()"#, "completed", nil),
        ("negative retry_count", #"'generate-aplus', '{"projectId":"p"}', 'pending', -4, 3, NULL, now(), NULL, NULL, now()"#, "completed", nil),
        ("null max_retries", #"'generate-aplus', '{"projectId":"p"}', 'pending', 0, NULL, NULL, now(), NULL, NULL, now()"#, "completed", nil),
        ("negative max_retries, failing", #"'generate-aplus', '{"projectId":"boom"}', 'pending', 0, -1, NULL, now(), NULL, NULL, now()"#,
         "failed", "Generation failed: boom"),
        ("SQL NULL payload", #"'generate-image', NULL, 'pending', 0, 3, NULL, now(), NULL, NULL, now()"#, "failed", "payload is not a JSON object (it is SQL NULL)"),
        ("JSON null payload", #"'generate-image', 'null', 'pending', 0, 3, NULL, now(), NULL, NULL, now()"#, "failed", "payload is not a JSON object (it is JSON null)"),
        ("string payload", #"'generate-image', '"text"', 'pending', 0, 3, NULL, now(), NULL, NULL, now()"#, "failed", "payload is not a JSON object (it is a JSON string)"),
        ("status NULL", #"'generate-image', '{"projectId":"p"}', NULL, 0, 3, NULL, now(), NULL, NULL, now()"#, nil, nil),
        ("status cancelled", #"'generate-image', '{"projectId":"p"}', 'cancelled', 0, 3, NULL, now(), NULL, NULL, now()"#, "cancelled", nil),
        ("status PENDING", #"'generate-image', '{"projectId":"p"}', 'PENDING', 0, 3, NULL, now(), NULL, NULL, now()"#, "PENDING", nil),
        ("processing, no timestamps", #"'generate-image', '{"projectId":"p"}', 'processing', 0, 3, NULL, NULL, NULL, NULL, now()"#, "completed", nil),
        ("run_at -infinity", #"'generate-image', '{"projectId":"p"}', 'pending', 0, 3, NULL, now(), NULL, NULL, '-infinity'"#, "completed", nil),
        ("job_type with a newline", #"E'generate-image\nX', '{"projectId":"p"}', 'pending', 0, 3, NULL, now(), NULL, NULL, now()"#, "pending", nil),
        ("12 MiB payload", #"'generate-image', jsonb_build_object('projectId', 'p', 'blob', repeat('z', 12582912)), 'pending', 0, 3, NULL, now(), NULL, NULL, now()"#,
         "failed", "over --max-payload 10MiB"),
    ]

    func testHostileRowsBesideNormalJobs() throws {
        try db.query("ALTER TABLE job_queue ALTER COLUMN job_type DROP NOT NULL, ALTER COLUMN payload DROP NOT NULL, DROP CONSTRAINT job_queue_status_check")
        let app = try startApp(arguments: ["--log-body-max", "256"])
        try db.insertJobs("generate-image", count: 25)
        var ids: [String] = []
        for row in hostile {
            ids.append(try db.query("""
                INSERT INTO job_queue (job_type, payload, status, retry_count, max_retries, processed_at, created_at, locked_until, locked_by, run_at)
                VALUES (\(row.values)) RETURNING id
                """).values[0][0]!)
        }
        try db.insertJobs("generate-aplus", count: 25)
        let total = try db.count(where: "true")
        let started = Date()
        // Two runs as a timer starts them: the second finds only what the first left, and changes nothing.
        var crashes = 0, failedRuns = 0
        for _ in 0..<2 {
            let result = try runBinary(["run", "--log-format", "json", "--backoff-base", "1ms", "--backoff-max", "1ms"],
                                       environment: environment(app: app), timeout: 120)
            if result.status > 128 || result.status < 0 { crashes += 1 }
            if result.status != 0 { failedRuns += 1 }
            XCTAssertEqual(result.status, 0, result.stderr.suffix(2000).description)
        }
        let seconds = Date().timeIntervalSince(started)

        XCTAssertEqual(try db.count(where: "true"), total, "no row lost")
        let normalDone = try db.count(where: "user_id LIKE 'user-%' AND status = 'completed' AND error_message IS NULL")
        XCTAssertEqual(normalDone, 50, "every normal job completed")
        var defined = 0
        for (index, row) in hostile.enumerated() {
            let state = try db.query("SELECT status, error_message FROM job_queue WHERE id = $1", [ids[index]]).values[0]
            var ok = state[0] == row.status
            XCTAssertEqual(state[0], row.status, row.name)
            if let error = row.error {
                ok = ok && (state[1]?.contains(error) ?? false)
                XCTAssertTrue(state[1]?.contains(error) ?? false, "\(row.name): \(state[1] ?? "nil")")
            }
            if ok { defined += 1 }
        }
        XCTAssertEqual(try db.count(where: "status = 'processing' OR locked_by IS NOT NULL"), 0, "nothing left leased")
        Fault.figure("hostile-rows: 50 normal jobs + \(hostile.count) hostile rows (NULL job_type, NULL/2147483647/-4 retry_count, "
                     + "NULL/negative max_retries, NULL/null/array/string payloads, NULL/cancelled/PENDING status, no timestamps, "
                     + "-infinity run_at, newline in job_type, 12 MiB payload); \(crashes) crashes, \(failedRuns) failed runs, "
                     + "\(normalDone)/50 normal completed, \(defined)/\(hostile.count) hostile rows in their defined state, "
                     + "\(total - (try db.count(where: "true"))) lost, \(Fault.seconds(seconds))")
    }
}
