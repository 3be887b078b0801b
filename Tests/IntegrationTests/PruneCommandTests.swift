import Foundation
import PostgresClient
import XCTest

/// `process-jobs prune`: only finished jobs older than the cutoff, in bounded chunks.
final class PruneCommandTests: IntegrationTestCase {
    private func insert(_ status: String, finishedAgo: String?, createdAgo: String = "30 days") throws -> String {
        try db.query("""
            INSERT INTO job_queue (job_type, payload, status, created_at, processed_at, completed_at)
            VALUES ('generate-image', '{}', $1, now() - $3::interval, now() - $3::interval, now() - $2::interval)
            RETURNING id
            """, [status, finishedAgo, createdAgo]).values[0][0]!
    }

    private func exists(_ id: String) throws -> Bool {
        try db.count(where: "id = '\(id)'") == 1
    }

    func testDeletesOnlyFinishedJobsOlderThanTheCutoff() throws {
        let oldCompleted = try insert("completed", finishedAgo: "8 days")
        let oldFailed = try insert("failed", finishedAgo: "10 days")
        // The Edge Function's mark_job_failed set no completed_at: its other times stand in.
        let legacyFailed = try insert("failed", finishedAgo: nil)
        let recentCompleted = try insert("completed", finishedAgo: "1 day")
        let recentFailed = try insert("failed", finishedAgo: "2 hours")
        let oldPending = try insert("pending", finishedAgo: nil)
        let oldProcessing = try insert("processing", finishedAgo: nil)
        let weirdPending = try insert("pending", finishedAgo: "30 days")

        let result = try runBinary(["prune"], environment: environment(app: nil))
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(result.stdout, "pruned 3 jobs finished more than 7d ago (completed 1, failed 2)\n")
        for id in [oldCompleted, oldFailed, legacyFailed] { XCTAssertFalse(try exists(id)) }
        for id in [recentCompleted, recentFailed, oldPending, oldProcessing, weirdPending] { XCTAssertTrue(try exists(id)) }

        let shorter = try runBinary(["prune", "--older-than", "1h"], environment: environment(app: nil))
        XCTAssertEqual(shorter.stdout, "pruned 2 jobs finished more than 1h ago (completed 1, failed 1)\n")
        XCTAssertEqual(try db.count(where: "true"), 3, "pending and processing rows are never deleted")
        XCTAssertEqual(try db.count(where: "status IN ('completed', 'failed')"), 0)
    }

    func testDeletesInBoundedChunks() throws {
        try db.query("""
            INSERT INTO job_queue (job_type, payload, status, completed_at)
            SELECT 'generate-image', '{}', CASE WHEN g % 10 = 0 THEN 'failed' ELSE 'completed' END, now() - interval '8 days'
            FROM generate_series(1, 2500) g
            """)
        try db.insertJob("generate-image")
        let result = try runBinary(["prune", "--chunk-size", "1000", "--log-level", "debug", "--log-format", "json"],
                                   environment: environment(app: nil))
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(result.stdout, "pruned 2500 jobs finished more than 7d ago (completed 2250, failed 250)\n")
        let chunks = result.stderr.split(separator: "\n").filter { $0.contains("prune chunk done") }
        XCTAssertEqual(chunks.count, 3, "1000 + 1000 + 500 rows, one statement each: \(result.stderr)")
        XCTAssertEqual(try db.count(where: "true"), 1)
    }

    func testSkipsRowsAnotherTransactionHoldsInsteadOfWaiting() throws {
        let held = try insert("failed", finishedAgo: "8 days")
        let free = try insert("failed", finishedAgo: "8 days")
        // Another session (a retry, say) has the row locked.
        let other = try Connection(conninfo: databaseURL)
        try other.query("BEGIN")
        try other.query("SELECT 1 FROM job_queue WHERE id = $1 FOR UPDATE", [held])
        let result = try runBinary(["prune"], environment: environment(app: nil), timeout: 30)
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(result.stdout, "pruned 1 job finished more than 7d ago (completed 0, failed 1)\n")
        XCTAssertTrue(try exists(held), "left for the next prune")
        XCTAssertFalse(try exists(free))
        try other.query("ROLLBACK")
        XCTAssertEqual(try runBinary(["prune"], environment: environment(app: nil)).status, 0)
        XCTAssertFalse(try exists(held))
    }

    func testBadInputIsAOneLineUsageError() throws {
        let id = try insert("completed", finishedAgo: "30 days")
        for arguments in [["prune", "--older-than", "3x"], ["prune", "--older-than=-1d"], ["prune", "--chunk-size", "0"],
                          ["prune", "--older-than", ""]] {
            let result = try runBinary(arguments, environment: environment(app: nil))
            XCTAssertEqual(result.status, 64, "\(arguments): \(result.stderr)")
            XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, result.stderr)
        }
        XCTAssertTrue(try exists(id), "nothing deleted")
    }
}
