import Foundation
import PostgresClient
@testable import ProcessJobsCore
import XCTest

/// Expired leases become failed attempts; a run whose lease was taken over cannot write.
final class LeaseTests: IntegrationTestCase {
    private func store(_ holder: String) throws -> JobStore {
        JobStore(connection: try Connection(conninfo: databaseURL), lockedBy: holder)
    }

    private func claim(_ store: JobStore, lease: Double = 60, rescue: Bool = false) throws -> JobStore.TickResult {
        try store.tick(outcomes: [], claim: .init(limit: 50, quotas: Routes.defaults.keys.map { ($0, 50) },
                                                 lease: lease, rescue: rescue))
    }

    func testExpiredLeaseIsAFailedAttemptThatWaitsItsBackoff() throws {
        let app = try startApp()
        let id = try db.insertJob("generate-image")
        XCTAssertEqual(try claim(try store("dead-host:1")).claimed.map(\.id), [id])
        try db.query("UPDATE job_queue SET locked_until = now() - interval '1 second' WHERE id = $1", [id])

        let report = try runEngine(app: app) { $0.retry = RetryPolicy(base: 1, cap: 60, jitter: 0.2) }
        XCTAssertEqual(report.summary.rescued, 1)
        XCTAssertEqual(report.summary.completed, 0, "not sent again before its backoff has passed")
        var row = try db.job(id)
        XCTAssertEqual(row.status, "pending")
        XCTAssertEqual(row.retryCount, 1, "the lost attempt counts")
        XCTAssertEqual(row.runInSeconds, 1, accuracy: 0.35, "base × 2^0, ±20% jitter")
        XCTAssertEqual(try app.requests(forJob: id).count, 0)

        // Once the backoff has passed, the next run sends it.
        try awaitCondition("the backoff to pass", timeout: 5) { try db.job(id).runInSeconds <= 0 }
        _ = try runEngine(app: app)
        row = try db.job(id)
        XCTAssertEqual(row.status, "completed")
        XCTAssertEqual(try app.requests(forJob: id).first?.attempt, 2)
    }

    func testRescueBackoffDoublesWithRetriesAndStopsAtTheCap() throws {
        let ids = [try db.insertJob("generate-image", maxRetries: 10), try db.insertJob("generate-image", maxRetries: 10)]
        try db.query("UPDATE job_queue SET retry_count = 2 WHERE id = $1", [ids[0]])
        try db.query("UPDATE job_queue SET retry_count = 9 WHERE id = $1", [ids[1]])
        _ = try claim(try store("dead-host:1"))
        try db.query("UPDATE job_queue SET locked_until = now() - interval '1 second'")
        let live = try store("live-host:2")
        let backoff = RetryPolicy(base: 10, cap: 100, jitter: 0)
        let result = try live.tick(outcomes: [], claim: .init(limit: 50, quotas: [("generate-image", 50)], lease: 60,
                                                             rescue: true, backoff: backoff))
        XCTAssertEqual(result.rescued.map(\.status), ["pending", "pending"])
        XCTAssertEqual(result.claimed.count, 0, "not due: neither is claimed by the statement that rescued it")
        XCTAssertEqual(try db.job(ids[0]).runInSeconds, 40, accuracy: 1, "10s × 2^2")
        XCTAssertEqual(try db.job(ids[1]).runInSeconds, 100, accuracy: 1, "capped")
    }

    func testExpiredLeaseWithNoRetriesLeftFails() throws {
        let id = try db.insertJob("generate-image", maxRetries: 1)
        try db.query("UPDATE job_queue SET retry_count = 1 WHERE id = $1", [id])
        _ = try claim(try store("dead-host:1"))
        try db.query("UPDATE job_queue SET locked_until = now() - interval '1 second' WHERE id = $1", [id])
        let rescued = try claim(try store("live-host:2"), rescue: true).rescued
        XCTAssertEqual(rescued.map(\.status), ["failed"])
        let row = try db.job(id)
        XCTAssertEqual(row.status, "failed")
        XCTAssertEqual(row.retryCount, 1, "no retry granted: the count stays")
        XCTAssertTrue(row.completed)
        XCTAssertEqual(row.errorMessage, "lease expired: dead-host:1 did not report an outcome within the lease; no retries left (retry_count 1, max_retries 1)")
    }

    func testLegacyProcessingRowsExpireByProcessedAt() throws {
        let old = try db.insertJob("generate-image")
        let fresh = try db.insertJob("generate-image")
        // Left by the Edge Function: processing, no lease columns.
        try db.query("UPDATE job_queue SET status = 'processing', processed_at = now() - interval '2 hours' WHERE id = $1", [old])
        try db.query("UPDATE job_queue SET status = 'processing', processed_at = now() - interval '10 seconds' WHERE id = $1", [fresh])
        let result = try claim(try store("host:3"), lease: 300, rescue: true)
        XCTAssertEqual(result.rescued.map(\.id), [old])
        XCTAssertEqual(try db.job(old).status, "pending")
        XCTAssertEqual(try db.job(old).retryCount, 1)
        XCTAssertEqual(try db.job(fresh).status, "processing", "a legacy row younger than the lease is left alone")
    }

    func testLateWriterIsFencedOut() throws {
        let id = try db.insertJob("generate-image")
        let slow = try store("slow-host:1")
        let job = try XCTUnwrap(try claim(slow).claimed.first)
        // The lease expires, another run rescues and claims the job again.
        try db.query("UPDATE job_queue SET locked_until = now() - interval '1 second' WHERE id = $1", [id])
        let other = try store("fast-host:2")
        XCTAssertEqual(try claim(other, rescue: true).rescued.count, 1)
        try db.query("UPDATE job_queue SET run_at = now() WHERE id = $1", [id])  // its backoff has passed
        let reclaimed = try XCTUnwrap(try claim(other).claimed.first)
        XCTAssertEqual(reclaimed.id, id)

        // The slow run finally reports: nothing changes.
        let late = try slow.tick(outcomes: [PendingOutcome(job: job, outcome: .complete(result: nil))], claim: nil)
        XCTAssertEqual(late.recorded.count, 0)
        let row = try db.job(id)
        XCTAssertEqual(row.status, "processing")
        XCTAssertEqual(row.lockedBy, "fast-host:2")

        // Even a writer with the same host:pid but an older claim is fenced (claim time differs).
        let stale = try other.tick(outcomes: [PendingOutcome(job: job, outcome: .complete(result: nil))], claim: nil)
        XCTAssertEqual(stale.recorded.count, 0)
        let current = try other.tick(outcomes: [PendingOutcome(job: reclaimed, outcome: .complete(result: nil))], claim: nil)
        XCTAssertEqual(current.recorded.map(\.status), ["completed"])
    }

    func testReleaseRestoresTheJobUntouched() throws {
        let id = try db.insertJob("generate-image")
        try db.query("UPDATE job_queue SET retry_count = 1, processed_at = '2020-01-01T00:00:00Z', error_message = 'earlier' WHERE id = $1", [id])
        let holder = try store("host:4")
        let job = try XCTUnwrap(try claim(holder).claimed.first)
        _ = try holder.tick(outcomes: [PendingOutcome(job: job, outcome: .release(delay: nil))], claim: nil)
        let rows = try db.query("SELECT status, retry_count, processed_at = '2020-01-01T00:00:00Z', error_message, locked_by, locked_until FROM job_queue WHERE id = $1", [id])
        XCTAssertEqual(rows.values[0], ["pending", "1", "t", "earlier", nil, nil])
    }
}
