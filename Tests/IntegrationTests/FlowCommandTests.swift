import Foundation
import PostgresClient
@testable import ProcessJobsCore
import XCTest

/// `pause`, `resume`, `cancel` and the routes in `status`, end to end: the binary writes the
/// shared state, and a runner's tick (JobStore, as the engine calls it) honours it.
final class FlowCommandTests: IntegrationTestCase {
    private let type = "generate-image"

    private func runner(_ holder: String = "host:1") throws -> JobStore {
        JobStore(connection: try Connection(conninfo: databaseURL), lockedBy: holder)
    }

    private func claim() -> JobStore.Claim {
        .init(limit: 10, quotas: [(type, 10)], lease: 60, rescue: false)
    }

    func testPauseHoldsEveryRunnerUntilResumed() throws {
        try db.insertJob(type)
        let paused = try runBinary(["pause", type], environment: environment(app: nil))
        XCTAssertEqual(paused.status, 0, paused.stderr)
        XCTAssertEqual(paused.stdout, "paused \(type) until resumed on every runner\n")
        for holder in ["host:1", "host:2"] {
            let result = try runner(holder).tick(outcomes: [], claim: claim())
            XCTAssertEqual(result.claimed.count, 0)
            XCTAssertEqual(result.holds.map(\.reason), [.paused])
            XCTAssertGreaterThan(try XCTUnwrap(result.holds.first?.nextIn), 1e9, "until resumed")
        }

        let status = try runBinary(["status", "--json"], environment: environment(app: nil))
        XCTAssertEqual(status.status, 0, status.stderr)
        let document = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any])
        let route = try XCTUnwrap((document["routes"] as? [[String: Any]])?.first { $0["type"] as? String == type })
        XCTAssertEqual(route["paused"] as? Bool, true)
        XCTAssertEqual(route["paused_until"] as? String, "infinity")
        XCTAssertEqual(route["pause_reason"] as? String, "paused by operator")
        XCTAssertEqual((route["top_due_users"] as? [[String: Any]])?.first?["user_id"] as? String, "user-1")
        let table = try runBinary(["status"], environment: environment(app: nil))
        XCTAssertTrue(table.stdout.contains("until resumed (paused by operator)"), table.stdout)

        let resumed = try runBinary(["resume", type], environment: environment(app: nil))
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        XCTAssertEqual(resumed.stdout, "resumed \(type) (it was paused by operator)\n")
        XCTAssertEqual(try runner().tick(outcomes: [], claim: claim()).claimed.count, 1)
        XCTAssertEqual(try runBinary(["resume", type], environment: environment(app: nil)).stdout, "\(type) was not paused\n")
    }

    func testPauseForAWhileKeepsALongerPause() throws {
        let first = try runBinary(["pause", type, "--for", "1h"], environment: environment(app: nil))
        XCTAssertEqual(first.status, 0, first.stderr)
        XCTAssertTrue(first.stdout.hasPrefix("paused \(type) until 20"), first.stdout)
        let shorter = try runBinary(["pause", type, "--for", "1m"], environment: environment(app: nil))
        XCTAssertEqual(shorter.status, 0, shorter.stderr)
        let left = try db.query("SELECT extract(epoch FROM paused_until - now())::float8 FROM process_jobs.route_pause").values[0][0]
        XCTAssertEqual(Double(try XCTUnwrap(left))!, 3600, accuracy: 10, "the longer pause stays")
        XCTAssertEqual(try runBinary(["pause", "bad type"], environment: environment(app: nil)).status, 64)
        XCTAssertEqual(try runBinary(["pause", type, "--for", "soon"], environment: environment(app: nil)).status, 64)
    }

    func testCancelFailsPendingMarksProcessingAndReportsFinished() throws {
        let pending = try db.insertJob(type)
        let processing = try db.insertJob(type)
        let done = try db.insertJob(type)
        try db.query("UPDATE job_queue SET status = 'completed', completed_at = now() WHERE id = $1", [done])
        try db.query("UPDATE job_queue SET run_at = now() + interval '1 hour' WHERE id = $1", [pending])
        let job = try XCTUnwrap(try runner().tick(outcomes: [], claim: claim()).claimed.first)
        XCTAssertEqual(job.id, processing)
        let before = try db.query("SELECT q::text FROM job_queue q WHERE id = $1", [done]).values

        let missing = UUID().uuidString.lowercased()
        let result = try runBinary(["cancel", pending, processing, done, missing], environment: environment(app: nil))
        XCTAssertEqual(result.status, 64, "a finished or unknown id, as retry: \(result.stderr)")
        XCTAssertTrue(result.stdout.contains("\(pending) cancelled: was pending, now failed (cancelled by operator)"), result.stdout)
        XCTAssertTrue(result.stdout.contains("\(processing) cancelled: processing, its outcome will not be retried"), result.stdout)
        XCTAssertTrue(result.stderr.contains("\(done) is completed: unchanged"), result.stderr)
        XCTAssertTrue(result.stderr.contains("\(missing) no such job"), result.stderr)
        XCTAssertEqual(result.stdout.split(separator: "\n").count + result.stderr.split(separator: "\n").count, 4, "one line per id")

        XCTAssertEqual(try db.job(pending).status, "failed")
        XCTAssertEqual(try db.job(pending).errorMessage, "cancelled by operator")
        XCTAssertEqual(try db.job(processing).status, "processing", "its request is not recalled")
        XCTAssertEqual(try db.query("SELECT q::text FROM job_queue q WHERE id = $1", [done]).values, before, "finished: unchanged")

        // Its outcome arrives: a retry becomes a failure.
        _ = try runner().tick(outcomes: [PendingOutcome(job: job, outcome: .retry(error: "HTTP 503", delay: 5))], claim: nil)
        XCTAssertEqual(try db.job(processing).status, "failed")
        XCTAssertEqual(try db.job(processing).errorMessage, "cancelled by operator")

        // retry brings a cancelled job back, no longer cancelled.
        XCTAssertEqual(try runBinary(["retry", pending], environment: environment(app: nil)).status, 0)
        XCTAssertEqual(try db.query("SELECT status, cancelled_at IS NULL FROM job_queue WHERE id = $1", [pending]).values[0], ["pending", "t"])
        XCTAssertEqual(try runBinary(["cancel", "not-a-uuid"], environment: environment(app: nil)).status, 64)
    }
}
