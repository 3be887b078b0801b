import Foundation
import PostgresClient
import XCTest

/// `process-jobs enqueue`: a job inserted as the app inserts it, then sent by a run.
final class EnqueueCommandTests: IntegrationTestCase {
    private func row(_ id: String) throws -> [String: String?] {
        let rows = try db.query("""
            SELECT job_type, payload::text, user_id, status, retry_count::text, max_retries::text,
                   extract(epoch FROM run_at)::float8::text AS run_at,
                   extract(epoch FROM run_at - now())::float8::text AS run_in, locked_by, error_message
            FROM job_queue WHERE id = $1
            """, [id])
        return Dictionary(uniqueKeysWithValues: zip(rows.columns, rows.values[0]))
    }

    func testInsertsAsTheAppDoesAndPrintsOnlyTheId() throws {
        let result = try runBinary(["enqueue", "generate-image", "--payload", #"{"projectId":"p1","imageType":"main","style":"modern"}"#,
                                    "--user-id", "user-7"], environment: environment(app: nil))
        XCTAssertEqual(result.status, 0, result.stderr)
        let id = result.stdout.trimmingCharacters(in: .newlines)
        XCTAssertEqual(result.stdout, id + "\n")
        XCTAssertNotNil(id.range(of: #"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"#, options: .regularExpression))
        let job = try row(id)
        XCTAssertEqual(job["job_type"], "generate-image")
        XCTAssertEqual(job["payload"], #"{"style": "modern", "imageType": "main", "projectId": "p1"}"#)
        XCTAssertEqual(job["user_id"], "user-7")
        XCTAssertEqual(job["status"], "pending")
        XCTAssertEqual(job["retry_count"], "0")
        XCTAssertEqual(job["max_retries"], "3", "the table's default")
        XCTAssertLessThanOrEqual(Double(job["run_in"]!!)!, 0, "due at once")
        XCTAssertEqual(result.stderr, "")

        // The next run sends it like any job the app queued.
        let app = try startApp()
        XCTAssertEqual(try runBinary(["run"], environment: environment(app: app)).status, 0)
        let request = try XCTUnwrap(app.requests(forJob: id).first)
        XCTAssertEqual(request.path, "/api/process-image")
        XCTAssertEqual(request.json["projectId"] as? String, "p1")
        XCTAssertEqual(request.json["userId"] as? String, "user-7")
        XCTAssertEqual(try db.job(id).status, "completed")
    }

    func testMaxRetriesAndARelativeRunAt() throws {
        let result = try runBinary(["enqueue", "generate-aplus", "--payload", #"{"projectId":"p"}"#, "--max-retries", "5",
                                    "--run-at", "+5m"], environment: environment(app: nil))
        XCTAssertEqual(result.status, 0, result.stderr)
        let job = try row(result.stdout.trimmingCharacters(in: .newlines))
        XCTAssertEqual(job["max_retries"], "5")
        XCTAssertNil(job["user_id"]!)
        XCTAssertEqual(Double(job["run_in"]!!)!, 300, accuracy: 10)
        // Not due: a run now leaves it alone.
        let app = try startApp()
        XCTAssertEqual(try runBinary(["run"], environment: environment(app: app)).status, 0)
        XCTAssertEqual(try app.requests().count, 0)
    }

    func testAnRFC3339RunAt() throws {
        let result = try runBinary(["enqueue", "generate-image", "--payload", "{}", "--run-at", "2030-01-01T00:00:00.5+02:00"],
                                   environment: environment(app: nil))
        XCTAssertEqual(result.status, 0, result.stderr)
        let job = try row(result.stdout.trimmingCharacters(in: .newlines))
        XCTAssertEqual(Double(job["run_at"]!!)!, 1_893_448_800.5, accuracy: 0.001, "2029-12-31T22:00:00.5Z")
    }

    func testPayloadFromStandardInput() throws {
        let result = try runBinary(["enqueue", "generate-image", "--payload", "-"], environment: environment(app: nil),
                                   stdin: "{\"projectId\": \"from-stdin\"}\n")
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(try row(result.stdout.trimmingCharacters(in: .newlines))["payload"], #"{"projectId": "from-stdin"}"#)
    }

    func testBadInputIsAOneLineUsageErrorAndInsertsNothing() throws {
        let cases: [([String], String)] = [
            (["enqueue", "generate-image", "--payload", "[1,2]"], "must be a JSON object (it is an array)"),
            (["enqueue", "generate-image", "--payload", #""text""#], "must be a JSON object (it is a string)"),
            (["enqueue", "generate-image", "--payload", "{"], "not valid JSON"),
            (["enqueue", "generate-image", "--payload", #"{"a":"\u0000"}"#], "not valid JSON"),
            (["enqueue", "generate-image", "--payload", "{}", "--run-at", "tomorrow"], "RFC 3339"),
            (["enqueue", "generate-image", "--payload", "{}", "--run-at", "2030-01-01T00:00:00"], "RFC 3339"),
            (["enqueue", "generate-image", "--payload", "{}", "--max-retries=-1"], "--max-retries"),
            (["enqueue", "generate image", "--payload", "{}"], "job type"),
            (["enqueue", "generate-image", "--payload", "{}", "--user-id", ""], "--user-id"),
        ]
        for (arguments, expected) in cases {
            let result = try runBinary(arguments, environment: environment(app: nil))
            XCTAssertEqual(result.status, 64, "\(arguments): \(result.stderr)")
            XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, result.stderr)
            XCTAssertTrue(result.stderr.contains(expected), "\(arguments): \(result.stderr)")
            XCTAssertEqual(result.stdout, "")
        }
        XCTAssertEqual(try db.count(where: "true"), 0)
    }

    func testUnknownUserIsReported() throws {
        // As in the app, where user_id references "User"(id).
        try db.execute(script: """
            CREATE TABLE "User" (id text PRIMARY KEY);
            INSERT INTO "User" VALUES ('user-1');
            ALTER TABLE job_queue ADD FOREIGN KEY (user_id) REFERENCES "User"(id);
            """)
        let ghost = try runBinary(["enqueue", "generate-image", "--payload", "{}", "--user-id", "ghost"], environment: environment(app: nil))
        XCTAssertEqual(ghost.status, 64, ghost.stderr)
        XCTAssertTrue(ghost.stderr.contains("--user-id ghost: no such user"), ghost.stderr)
        let known = try runBinary(["enqueue", "generate-image", "--payload", "{}", "--user-id", "user-1"], environment: environment(app: nil))
        XCTAssertEqual(known.status, 0, known.stderr)
        XCTAssertEqual(try db.count(where: "true"), 1)
    }

    func testUnroutedTypeIsInsertedWithANote() throws {
        let result = try runBinary(["enqueue", "send-newsletter", "--payload", "{}"], environment: environment(app: nil))
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stderr.contains("no default route"), result.stderr)
        XCTAssertEqual(try db.count(where: "job_type = 'send-newsletter'"), 1)
    }
}
