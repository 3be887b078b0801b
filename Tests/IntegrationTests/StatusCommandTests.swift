import Foundation
import PostgresClient
@testable import ProcessJobsCore
import XCTest

/// `process-jobs status` against a real database holding rows in every state.
final class StatusCommandTests: IntegrationTestCase {
    private var expiredID = ""
    private var legacyExpiredID = ""

    /// Pending (due, scheduled later), processing (live lease, expired lease, legacy row without
    /// locked_until), completed, failed (recent with errors, old), and an unrouted type.
    private func seedEveryState() throws {
        try db.insertJob("generate-image")
        try db.insertJob("generate-image")
        try db.query("UPDATE job_queue SET run_at = now() - interval '90 seconds' WHERE job_type = 'generate-image'")
        try db.query("INSERT INTO job_queue (job_type, payload, run_at, retry_count) VALUES ('generate-image', '{}', now() + interval '10 minutes', 1)")
        try db.query("INSERT INTO job_queue (job_type, payload, status, processed_at, locked_until, locked_by) VALUES ('generate-image', '{}', 'processing', now(), now() + interval '5 minutes', 'web-1:7')")
        expiredID = try db.insertJob("generate-aplus", payload: #"{"projectId":"p"}"#)
        try db.query("UPDATE job_queue SET status = 'processing', processed_at = now() - interval '20 minutes', locked_until = now() - interval '15 minutes', locked_by = 'web-2:99' WHERE id = $1", [expiredID])
        legacyExpiredID = try db.insertJob("generate-aplus", payload: #"{"projectId":"q"}"#)
        try db.query("UPDATE job_queue SET status = 'processing', processed_at = now() - interval '2 hours' WHERE id = $1", [legacyExpiredID])
        try db.query("INSERT INTO job_queue (job_type, payload, status, completed_at) SELECT 'generate-image', '{}', 'completed', now() FROM generate_series(1, 4)")
        try db.query("INSERT INTO job_queue (job_type, payload, status, completed_at, error_message) SELECT 'generate-image', '{}', 'failed', now() - interval '1 hour', 'Generation failed: boom' FROM generate_series(1, 3)")
        try db.query("INSERT INTO job_queue (job_type, payload, status, completed_at, error_message) VALUES ('generate-aplus', '{}', 'failed', now(), 'Project not found')")
        try db.query("INSERT INTO job_queue (job_type, payload, status, completed_at, error_message) VALUES ('generate-aplus', '{}', 'failed', now() - interval '3 days', 'an old error')")
        try db.query("INSERT INTO job_queue (job_type, payload) VALUES ('send-newsletter', '{}'), ('send-newsletter', '{}')")
    }

    func testTableShowsCountsDueWaitingExpiredUnroutedAndErrors() throws {
        try seedEveryState()
        let result = try runBinary(["status"], environment: environment(app: nil))
        XCTAssertEqual(result.status, 0, result.stderr)
        let lines = result.stdout.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.first?.split(separator: " ", omittingEmptySubsequences: true),
                       ["TYPE", "PENDING", "DUE", "OLDEST", "DUE", "NEXT", "RETRY", "PROCESSING", "EXPIRED", "COMPLETED", "FAILED"])
        func row(_ name: String) -> [Substring]? {
            lines.first { $0.hasPrefix(name + " ") }?.split(separator: " ", omittingEmptySubsequences: true)
        }
        // TYPE PENDING DUE OLDEST NEXT PROCESSING EXPIRED COMPLETED FAILED
        let image = try XCTUnwrap(row("generate-image"))
        XCTAssertEqual(Array(image.prefix(3)) + Array(image.suffix(6)), ["generate-image", "3", "2", "in", "10m", "1", "0", "4", "3"])
        XCTAssertNotNil(image[3].range(of: #"^9\ds$"#, options: .regularExpression), "oldest due about 90s: \(image[3])")
        XCTAssertEqual(row("generate-aplus"), ["generate-aplus", "0", "0", "-", "-", "2", "2", "0", "2"])
        XCTAssertEqual(row("generate-complete-pack"), ["generate-complete-pack", "0", "0", "-", "-", "0", "0", "0", "0"])
        XCTAssertEqual(row("send-newsletter")?.prefix(5), ["send-newsletter", "(no", "route)", "2", "2"])
        XCTAssertEqual(row("total")?.prefix(3), ["total", "5", "4"])
        // Columns line up: every row is as wide as the header up to the last column.
        let header = lines[0]
        for line in lines.prefix(6) { XCTAssertEqual(line.count, header.count, line) }

        XCTAssertTrue(result.stdout.contains("Expired leases (2)"), result.stdout)
        XCTAssertTrue(result.stdout.contains(expiredID), "the expired lease is listed by id")
        XCTAssertTrue(result.stdout.contains(legacyExpiredID), "a legacy row with no locked_until, processing for 2 hours, too")
        XCTAssertTrue(result.stdout.contains("web-2:99"))
        XCTAssertTrue(result.stdout.contains("no route (never claimed)"), result.stdout)
        XCTAssertTrue(result.stdout.contains("  send-newsletter: 2"), result.stdout)
        let errorsStart = try XCTUnwrap(lines.firstIndex { $0.hasPrefix("Most frequent errors") })
        let errors = lines[(errorsStart + 2)...].prefix { !$0.hasPrefix("Latest failed jobs") }
        XCTAssertEqual(errors.count, 2, "the 3-day-old error is outside the window")
        XCTAssertTrue(errors.first?.contains("3  generate-image") ?? false, "most frequent first: \(errors)")
        XCTAssertTrue(errors.first?.hasSuffix("Generation failed: boom") ?? false)
        XCTAssertTrue(errors.last?.hasSuffix("Project not found") ?? false)
        XCTAssertEqual(result.stderr, "")
    }

    func testJSONHasTheDocumentedShape() throws {
        try seedEveryState()
        let result = try runBinary(["status", "--json"], environment: environment(app: nil))
        XCTAssertEqual(result.status, 0, result.stderr)
        let document = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(Set(document.keys), ["generated_at", "types", "totals", "expired_leases", "unrouted", "top_errors", "error_window_seconds",
                                            "recent_failures", "routes"])
        XCTAssertNotNil((document["generated_at"] as? String)?.range(of: #"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$"#, options: .regularExpression))
        let types = try XCTUnwrap(document["types"] as? [[String: Any]])
        XCTAssertEqual(types.compactMap { $0["type"] as? String }, ["generate-aplus", "generate-complete-pack", "generate-image", "send-newsletter"])
        let keys: Set<String> = ["type", "routed", "pending", "processing", "completed", "failed", "other", "due", "oldest_due_seconds",
                                 "next_retry_at", "next_retry_in_seconds", "expired_leases"]
        for type in types { XCTAssertEqual(Set(type.keys), keys) }
        let image = types[2]
        XCTAssertEqual(image["pending"] as? Int, 3)
        XCTAssertEqual(image["due"] as? Int, 2)
        XCTAssertEqual(try XCTUnwrap(image["oldest_due_seconds"] as? Double), 90, accuracy: 30)
        XCTAssertEqual(try XCTUnwrap(image["next_retry_in_seconds"] as? Double), 600, accuracy: 30)
        XCTAssertNotNil(image["next_retry_at"] as? String)
        XCTAssertEqual(image["completed"] as? Int, 4)
        XCTAssertEqual(image["failed"] as? Int, 3)
        XCTAssertEqual(types[0]["expired_leases"] as? Int, 2)
        XCTAssertTrue(types[1]["oldest_due_seconds"] is NSNull)
        XCTAssertEqual(types[3]["routed"] as? Bool, false)
        let totals = try XCTUnwrap(document["totals"] as? [String: Any])
        XCTAssertEqual(totals["pending"] as? Int, 5)
        XCTAssertEqual(totals["processing"] as? Int, 3)
        XCTAssertEqual(totals["failed"] as? Int, 5)
        let leases = try XCTUnwrap(document["expired_leases"] as? [[String: Any]])
        XCTAssertEqual(Set(leases.compactMap { $0["id"] as? String }), [expiredID, legacyExpiredID])
        XCTAssertEqual(leases.first { $0["id"] as? String == expiredID }?["locked_by"] as? String, "web-2:99")
        XCTAssertTrue(leases.first { $0["id"] as? String == legacyExpiredID }?["locked_by"] is NSNull)
        let unrouted = try XCTUnwrap(document["unrouted"] as? [[String: Any]])
        XCTAssertEqual(unrouted.first?["type"] as? String, "send-newsletter")
        XCTAssertEqual(unrouted.first?["pending"] as? Int, 2)
        let errors = try XCTUnwrap(document["top_errors"] as? [[String: Any]])
        XCTAssertEqual(errors.map { $0["message"] as? String }, ["Generation failed: boom", "Project not found"])
        XCTAssertEqual(errors.first?["jobs"] as? Int, 3)
        XCTAssertEqual(errors.first?["types"] as? [String], ["generate-image"])
        XCTAssertEqual(document["error_window_seconds"] as? Int, 86_400)
    }

    /// Rows no writer of process-jobs makes, but a table may hold: infinite run_at, statuses outside
    /// the four, control characters in a job type.
    func testHostileRowsAreShownSafely() throws {
        try db.query("ALTER TABLE job_queue DROP CONSTRAINT job_queue_status_check")
        try db.query("INSERT INTO job_queue (job_type, payload, run_at) VALUES ('generate-image', '{}', '-infinity'), ('generate-image', '{}', 'infinity')")
        try db.query("INSERT INTO job_queue (job_type, payload, status) VALUES ('generate-image', '{}', NULL), ('generate-image', '{}', 'cancelled'), ('generate-aplus', '{}', 'PENDING')")
        try db.query("INSERT INTO job_queue (job_type, payload) VALUES (E'evil\\nFAKE-TYPE  9  9\\r\\u001b[2J', '{}')")
        try db.query("INSERT INTO job_queue (job_type, payload, status, completed_at, error_message) VALUES ('generate-image', '{}', 'failed', 'infinity', 'x')")

        let result = try runBinary(["status"], environment: environment(app: nil))
        XCTAssertEqual(result.status, 0, result.stderr)
        let lines = result.stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        XCTAssertFalse(lines.contains { $0.hasPrefix("FAKE-TYPE") }, "a job type forged a line: \(result.stdout)")
        XCTAssertFalse(result.stdout.contains("\u{1b}") || result.stdout.contains("\r"), result.stdout)
        XCTAssertTrue(result.stdout.contains(#"evil\nFAKE-TYPE  9  9\r\u{1b}[2J"#), result.stdout)
        XCTAssertTrue(lines[0].hasSuffix("OTHER"), lines[0])
        let total = try XCTUnwrap(lines.first { $0.hasPrefix("total ") }).split(separator: " ")
        XCTAssertEqual(total.last, "3", "NULL, cancelled and PENDING are counted as other: \(lines)")
        XCTAssertEqual(total[1], "3", "two pending of generate-image, one of the forged type")

        let json = try runBinary(["status", "--json"], environment: environment(app: nil))
        XCTAssertEqual(json.status, 0, json.stderr)
        let document = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let totals = try XCTUnwrap(document["totals"] as? [String: Any])
        XCTAssertEqual(totals["other"] as? Int, 3)
        XCTAssertEqual(totals["due"] as? Int, 2)

        let dryRun = try runBinary(["run", "--dry-run"], environment: environment(app: nil))
        XCTAssertEqual(dryRun.status, 0, dryRun.stderr)
        XCTAssertTrue(dryRun.stdout.contains("would claim 1 due job"), dryRun.stdout)
        XCTAssertFalse(dryRun.stdout.split(separator: "\n").contains { $0.hasPrefix("FAKE-TYPE") }, dryRun.stdout)
    }

    func testAtMostFiveErrorsMostFrequentFirst() throws {
        for n in 1...7 {
            try db.query("INSERT INTO job_queue (job_type, payload, status, completed_at, error_message) SELECT 'generate-image', '{}', 'failed', now(), 'error ' || $1::text FROM generate_series(1, $2::int)",
                         [String(n), String(n)])
        }
        let result = try runBinary(["status", "--json"], environment: environment(app: nil))
        let document = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        let errors = try XCTUnwrap(document["top_errors"] as? [[String: Any]])
        XCTAssertEqual(errors.map { $0["message"] as? String }, ["error 7", "error 6", "error 5", "error 4", "error 3"])
    }

    func testRouteFlagCountsATypeAsRouted() throws {
        try db.query("INSERT INTO job_queue (job_type, payload) VALUES ('send-newsletter', '{}')")
        let result = try runBinary(["status", "--route", "send-newsletter=/api/send"], environment: environment(app: nil))
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertFalse(result.stdout.contains("no route"), result.stdout)
    }

    func testReadsOnly() throws {
        try seedEveryState()
        let before = try db.query("SELECT j::text FROM job_queue j ORDER BY id").values
        XCTAssertEqual(try runBinary(["status"], environment: environment(app: nil)).status, 0)
        XCTAssertEqual(try runBinary(["status", "--json"], environment: environment(app: nil)).status, 0)
        XCTAssertEqual(try db.query("SELECT j::text FROM job_queue j ORDER BY id").values, before)
    }

    func testBadInputIsAOneLineUsageError() throws {
        for arguments in [["status", "--lease", "soon"], ["status", "--route", "nonsense"], ["status", "--lease", "0"]] {
            let result = try runBinary(arguments, environment: environment(app: nil))
            XCTAssertEqual(result.status, 64, "\(arguments): \(result.stderr)")
            XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, result.stderr)
            XCTAssertTrue(result.stderr.hasPrefix("process-jobs: "), result.stderr)
        }
    }

    func testDatabaseUnavailableExits75() throws {
        let result = try runBinary(["status"], environment: ["DATABASE_URL": "postgresql://postgres:hunter2@127.0.0.1:1/x?connect_timeout=2"])
        XCTAssertEqual(result.status, 75, result.stderr)
        XCTAssertFalse(result.stderr.contains("hunter2"))
    }
}

final class StatusOnOriginalSchemaTests: IntegrationTestCase {
    override var migrated: Bool { false }

    func testUnmigratedSchemaSaysToMigrate() throws {
        try db.insertJob("generate-image")
        let result = try runBinary(["status"], environment: environment(app: nil))
        XCTAssertEqual(result.status, 78, result.stderr)
        XCTAssertTrue(result.stderr.contains("process-jobs migrate"), result.stderr)
        XCTAssertEqual(result.stderr.split(separator: "\n").count, 1)
    }
}
