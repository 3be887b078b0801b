import Foundation
import PostgresClient
@testable import ProcessJobsCore
import XCTest

/// The fair claim's cost as the backlog grows (issue 12: 1,000,000 due jobs of 10,000 users
/// within 1.5× of 10,000 due jobs of 100 users; issue 17 target 4: no walk of a created_at-only
/// index). A measurement, not a timed test: it runs only under scripts/bench-fair-claim
/// (BENCH_FAIR_CLAIM=1), which points it at a server with stock durability settings, and it
/// prints its figures and the claim's plan rather than asserting on time.
final class FairClaimBenchmark: IntegrationTestCase {
    private let types = ["generate-image", "generate-aplus", "generate-complete-pack"]

    func testClaimLatencyAtBothScales() throws {
        guard ProcessInfo.processInfo.environment["BENCH_FAIR_CLAIM"] == "1" else {
            throw XCTSkip("a measurement: run scripts/bench-fair-claim")
        }
        for fairBy in [FairBy.user, .none] {
            for (jobs, users) in [(10_000, 100), (1_000_000, 10_000)] {
                try measure(jobs: jobs, users: users, fairBy: fairBy)
            }
        }
    }

    /// `jobs` due generate-image jobs spread evenly over `users`, no other type due (the index of
    /// the original table on (status, created_at) present, as apps have it); the claim of 50 of
    /// a run at default flags, each in a transaction rolled back so that every claim sees the same.
    private func measure(jobs: Int, users: Int, fairBy: FairBy) throws {
        let loader = try Connection(conninfo: databaseURL, timeout: 900)
        try loader.query("TRUNCATE job_queue")
        try loader.query("""
            INSERT INTO job_queue (job_type, payload, user_id, created_at)
            SELECT 'generate-image', '{"projectId":"p","imageType":"main"}', 'user-' || (g % $2::int),
                   now() - interval '1 day' + g * interval '1 millisecond'
            FROM generate_series(1, $1::int) g
            """, [String(jobs), String(users)])
        try loader.query("VACUUM ANALYZE job_queue")
        // A route's first claim anywhere takes oldest first and makes its row; every claim here
        // is rolled back, so the rows are made beforehand: these are the claims of routes that
        // have claimed before, as a running system's are.
        try loader.query("INSERT INTO process_jobs.route_state (job_type) SELECT unnest($1::text[]) ON CONFLICT DO NOTHING",
                         [PostgresArray.literal(types)])
        let store = JobStore(connection: try Connection(conninfo: databaseURL), lockedBy: "bench:1")
        let claim = JobStore.Claim(limit: 50, quotas: types.map { ($0, 50) }, lease: 300, rescue: true, fairBy: fairBy)
        var samples: [Double] = []
        for _ in 0..<21 {
            try store.connection.query("BEGIN")
            let start = DispatchTime.now().uptimeNanoseconds
            let result = try store.tick(outcomes: [], claim: claim)
            samples.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
            try store.connection.query("ROLLBACK")
            XCTAssertEqual(result.claimed.count, 50)
        }
        let first = samples[0]
        let sorted = samples.dropFirst().sorted()
        print("fair-claim: fair-by \(fairBy.rawValue), \(jobs) due jobs of \(users) users: first \(String(format: "%.2f", first)) ms, median \(String(format: "%.2f", sorted[sorted.count / 2])) ms, min \(String(format: "%.2f", sorted[0])) ms")

        try store.connection.query("BEGIN")
        let (sql, parameters) = store.tickStatement(outcomes: [], claim: claim, pauses: [])
        let plan = try store.connection.query("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + sql, parameters)
        try store.connection.query("ROLLBACK")
        let text = plan.values.map { $0[0] ?? "" }
        // The app's index may serve the few processing rows (rescue, live leases); never the pending ones.
        let walksPending = zip(text, text.dropFirst()).contains { scan, condition in
            scan.contains("idx_job_queue_status") && condition.contains("'pending'")
        }
        XCTAssertFalse(walksPending, "the claim must not walk the app's (status, created_at) index over pending rows")
        if fairBy == .user, let scan = text.firstIndex(where: { $0.contains("CTE fair_user") }) {
            XCTAssertTrue(text[scan + 1].contains("rows=50"), "the fair claim found its 50 users by the skip scan: \(text[scan + 1])")
        } else {
            XCTAssertNotEqual(fairBy, .user, "the fair claim's plan has no skip scan")
        }
        if jobs == 1_000_000 {
            print("fair-claim plan (fair-by \(fairBy.rawValue), \(jobs) due jobs of \(users) users):")
            text.forEach { print("  " + $0) }
        }
    }
}
