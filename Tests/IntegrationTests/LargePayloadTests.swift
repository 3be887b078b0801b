import Foundation
import PostgresClient
@testable import ProcessJobsCore
import XCTest

/// Payloads of tens of megabytes: a run holds one copy of a body, claims no more bodies than
/// --max-inflight-bytes allows, and fails a body over --max-payload at once without loading it.
/// The figures are the binary's peak RSS as the kernel counted it (GNU time's %M).
final class LargePayloadTests: IntegrationTestCase {
    private let bodyBytes = 50_000_000

    /// Five jobs whose bodies are about 50 MB each, built by the server (the test holds none).
    private func insertBigJobs() throws -> [String] {
        // Stored uncompressed: compressing 250 MB of one letter would take the test's time.
        try db.query("ALTER TABLE job_queue ALTER COLUMN payload SET STORAGE EXTERNAL")
        return try db.query("""
            INSERT INTO job_queue (job_type, payload, user_id)
            SELECT 'generate-image', jsonb_build_object('projectId', 'big' || g, 'blob', repeat('x', $1::int)), 'user-1'
            FROM generate_series(1, 5) g RETURNING id
            """, [String(bodyBytes - 64)]).values.map { $0[0]! }
    }

    /// Runs the binary under GNU time; returns the result and its peak RSS in KiB.
    private func measuredRun(_ arguments: [String], app: TestApp) throws -> (CommandResult, Int) {
        let report = NSTemporaryDirectory() + "pj-rss-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: report) }
        let result = try shell("/usr/bin/time", ["-f", "%M", "-o", report, Paths.binary, "run", "--log-format", "json"] + arguments,
                               environment: binaryEnvironment(environment(app: app)), timeout: 300)
        let text = try String(contentsOfFile: report, encoding: .utf8)
        let kilobytes = try XCTUnwrap(text.split(separator: "\n").last.flatMap { Int($0) }, text)
        return (result, kilobytes)
    }

    func testFiveFiftyMegabytePayloadsAreSentOneCopyAtATime() throws {
        let app = try startApp(arguments: ["--log-body-max", "64"])
        let ids = try insertBigJobs()
        let (result, peak) = try measuredRun(["--max-payload", "64MiB"], app: app)
        XCTAssertEqual(result.status, 0, result.stderr.suffix(2000).description)
        XCTAssertEqual(try db.count(where: "status = 'completed'"), 5, (try? Census(db))?.description ?? "")
        for id in ids {
            let sent = try app.requests(forJob: id)
            XCTAssertEqual(sent.count, 1)
            XCTAssertGreaterThanOrEqual(sent.first?.bodyBytes ?? 0, bodyBytes - 64, "sent whole")
        }
        let limit = 2 * bodyBytes / 1024 + 30 * 1024
        XCTAssertLessThanOrEqual(peak, limit, "peak RSS \(peak) KiB")
        print("five 50 MB payloads sent: peak RSS \(peak / 1024) MiB (limit \(limit / 1024) MiB)")
    }

    func testPayloadsOverTheLimitFailUnsentWithoutBeingLoaded() throws {
        let app = try startApp(arguments: ["--log-body-max", "64"])
        let ids = try insertBigJobs()
        try db.insertJobs("generate-image", count: 3)
        let (result, peak) = try measuredRun([], app: app)
        XCTAssertEqual(result.status, 0, result.stderr.suffix(2000).description)
        XCTAssertEqual(try db.count(where: "status = 'completed'"), 3)
        for id in ids {
            let row = try db.job(id)
            XCTAssertEqual(row.status, "failed")
            XCTAssertEqual(row.retryCount, 0)
            let size = try db.query("SELECT octet_length((payload || jsonb_build_object('userId', user_id))::text) FROM job_queue WHERE id = $1", [id]).values[0][0]!
            let message = row.errorMessage ?? ""
            XCTAssertTrue(message.contains(size) && message.contains("--max-payload 10MiB"), message)
            XCTAssertEqual(try app.requests(forJob: id).count, 0, "never sent")
        }
        XCTAssertLessThanOrEqual(peak, 40 * 1024, "peak RSS \(peak) KiB")
        print("five 50 MB payloads over --max-payload: peak RSS \(peak / 1024) MiB (limit 40 MiB)")
    }

    /// The budget: bodies in flight and claimed-but-unsent stay within --max-inflight-bytes; a job
    /// that does not fit now is left untouched for a later claim.
    func testInflightBudgetBoundsWhatAClaimLoads() throws {
        let app = try startApp(arguments: ["--log-body-max", "64"])
        try db.query("""
            INSERT INTO job_queue (job_type, payload, user_id)
            SELECT 'generate-image', jsonb_build_object('projectId', 'mid' || g, 'blob', repeat('y', 400000)), 'user-1'
            FROM generate_series(1, 10) g
            """)
        try app.configure(#"{"delay_ms": 200}"#)
        let result = try runBinary(["run", "--log-format", "json", "--max-inflight-bytes", "1MiB"], environment: environment(app: app))
        XCTAssertEqual(result.status, 0, result.stderr.suffix(2000).description)
        XCTAssertEqual(try db.count(where: "status = 'completed'"), 10)
        // Never more than two 400 kB bodies (1 MiB) at the app at once.
        let requests = try app.requests().sorted { $0.time < $1.time }
        var overlapping = 0
        for request in requests {
            let started = request.time
            overlapping = max(overlapping, requests.filter { $0.time <= started && $0.time + 0.2 > started }.count)
        }
        XCTAssertLessThanOrEqual(overlapping, 2, "bodies at the app at once")
    }

    /// A body too big to come with the claim is read after it, byte for byte as PostgreSQL
    /// prints it (one statement up to 4 MiB, a cursor in chunks beyond), and only under the lease.
    func testBodiesReadAfterTheClaimAreWholeAndFencedByTheLease() throws {
        var ids: [String] = []
        // Multi-byte characters across every chunk boundary: chunks must end on a character.
        for size in [100_000, 1_000_000, 9_000_000] {
            ids.append(try db.query("""
                INSERT INTO job_queue (job_type, payload, user_id)
                VALUES ('generate-image', jsonb_build_object('projectId', 'p', 'blob', repeat('é€😀', $1::int)), 'user-1') RETURNING id
                """, [String(size / 9)]).values[0][0]!)
        }
        let store = JobStore(connection: try Connection(conninfo: databaseURL), lockedBy: "reader:1")
        let claimed = try store.tick(outcomes: [], claim: .init(limit: 10, quotas: [("generate-image", 10)], lease: 60, rescue: false)).claimed
        XCTAssertEqual(Set(claimed.map(\.id)), Set(ids))
        for job in claimed {
            XCTAssertNil(job.body, "over the inline limit: not in the claim's answer")
            let expected = try db.query("SELECT (payload || jsonb_build_object('userId', user_id))::text FROM job_queue WHERE id = $1", [job.id]).values[0][0]!
            XCTAssertEqual(job.bodySize, expected.utf8.count)
            let body = try store.body(of: job)
            XCTAssertTrue(body == expected, "\(job.bodySize) bytes read back whole")
        }
        try db.query("UPDATE job_queue SET locked_by = 'someone-else:2'")
        for job in claimed {
            XCTAssertNil(try store.body(of: job), "the lease was taken over")
        }
    }
}
