import Foundation
import PostgresClient
import XCTest

/// `run --dry-run`: what a run would claim, and proof that nothing changed.
final class DryRunTests: IntegrationTestCase {
    private func snapshot() throws -> [[String?]] {
        try db.query("SELECT j::text FROM job_queue j ORDER BY id").values
    }

    func testListsDueJobsWithTargetsAndChangesNothing() throws {
        let app = try startApp()
        let image = try db.insertJob("generate-image")
        let aplus = try db.insertJob("generate-aplus", payload: #"{"projectId":"p"}"#)
        let notObject = try db.insertJob("generate-image", payload: "[1]")
        let later = try db.insertJob("generate-image")
        try db.query("UPDATE job_queue SET run_at = now() + interval '1 hour' WHERE id = $1", [later])
        let unrouted = try db.insertJob("send-newsletter", payload: "{}")
        let expired = try db.insertJob("generate-aplus")
        try db.query("UPDATE job_queue SET status = 'processing', processed_at = now() - interval '1 hour', locked_until = now() - interval '1 minute', locked_by = 'gone:1' WHERE id = $1", [expired])
        let before = try snapshot()

        let result = try runBinary(["run", "--dry-run"], environment: environment(app: app))
        XCTAssertEqual(result.status, 0, result.stderr)
        let lines = result.stdout.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines[0].split(separator: " ", omittingEmptySubsequences: true), ["ID", "TYPE", "ATTEMPT", "DUE", "TARGET"])
        // In claim order (oldest first), each with where it would go.
        XCTAssertTrue(lines[1].hasPrefix(image + "  generate-image"), lines[1])
        XCTAssertTrue(lines[1].hasSuffix("POST \(app.url)/api/process-image"), lines[1])
        XCTAssertTrue(lines[2].hasPrefix(aplus + "  generate-aplus"), lines[2])
        XCTAssertTrue(lines[2].hasSuffix("POST \(app.url)/api/process-aplus"), lines[2])
        XCTAssertTrue(lines[3].hasPrefix(notObject) && lines[3].contains("fails at once: payload is a JSON array"), lines[3])
        XCTAssertFalse(result.stdout.contains(later), "not due yet")
        XCTAssertFalse(result.stdout.contains(unrouted), "no route")
        XCTAssertTrue(result.stdout.contains("would claim 3 due jobs\n"), result.stdout)
        XCTAssertTrue(result.stdout.contains("would first rescue 1 expired lease"), result.stdout)
        XCTAssertTrue(result.stdout.contains("1 pending job of type send-newsletter would not be claimed: no route"), result.stdout)
        XCTAssertTrue(result.stdout.hasSuffix("dry run: nothing was claimed, sent or changed\n"))

        XCTAssertEqual(try snapshot(), before, "not a single column changed")
        XCTAssertEqual(try app.requests().count, 0, "nothing was sent")
    }

    func testNeedsNoToken() throws {
        try db.insertJob("generate-image")
        let result = try runBinary(["run", "--dry-run"], environment: ["DATABASE_URL": databaseURL])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stdout.contains("POST http://localhost:3000/api/process-image"), result.stdout)
    }

    func testOnceListsOneBatchAndJobTypeFilters() throws {
        for _ in 0..<5 { try db.insertJob("generate-image") }
        let aplus = try db.insertJob("generate-aplus", payload: #"{"projectId":"p"}"#)
        let once = try runBinary(["run", "--dry-run", "--once", "--batch-size", "2"], environment: environment(app: nil))
        XCTAssertEqual(once.status, 0, once.stderr)
        XCTAssertEqual(once.stdout.split(separator: "\n").filter { $0.contains("generate-image") }.count, 2, once.stdout)
        XCTAssertTrue(once.stdout.contains("would claim 2 jobs (--once: one claim)"), once.stdout)

        let typed = try runBinary(["run", "--dry-run", "--job-type", "generate-aplus"], environment: environment(app: nil))
        XCTAssertEqual(typed.status, 0, typed.stderr)
        XCTAssertTrue(typed.stdout.contains(aplus), typed.stdout)
        XCTAssertFalse(typed.stdout.contains("generate-image "), typed.stdout)
        XCTAssertTrue(typed.stdout.contains("would claim 1 due job\n"), typed.stdout)
    }

    func testNothingDue() throws {
        let result = try runBinary(["run", "--dry-run"], environment: environment(app: nil))
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(result.stdout, "no job is due: a run now would claim nothing\ndry run: nothing was claimed, sent or changed\n")
    }

    func testUsageErrors() throws {
        for arguments in [["run", "--dry-run", "--every", "10s"], ["run", "--dry-run", "--job-type", "send-newsletter"]] {
            let result = try runBinary(arguments, environment: environment(app: nil))
            XCTAssertEqual(result.status, 64, "\(arguments): \(result.stderr)")
            XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, result.stderr)
        }
    }
}

final class DryRunOnOriginalSchemaTests: IntegrationTestCase {
    override var migrated: Bool { false }

    func testUnmigratedSchemaSaysToMigrate() throws {
        try db.insertJob("generate-image")
        let result = try runBinary(["run", "--dry-run"], environment: environment(app: nil))
        XCTAssertEqual(result.status, 78, result.stderr)
        XCTAssertTrue(result.stderr.contains("process-jobs migrate"), result.stderr)
    }
}
