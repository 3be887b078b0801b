import PostgresClient
@testable import ProcessJobsCore
import XCTest

/// Every shape of the tick statement runs against a real PostgreSQL: each is its own text, so
/// each must parse, plan and do its part (the flow-control and outcome suites test behaviour in
/// depth on the shapes runs use most).
final class TickShapeTests: IntegrationTestCase {
    private let type = "generate-image"

    func testEveryShapeRunsAndDoesItsPart() throws {
        try db.query("""
            INSERT INTO job_queue (job_type, payload, user_id, created_at)
            SELECT $1, '{"projectId":"p"}', 'user-' || (g % 3), clock_timestamp() FROM generate_series(1, 12) g
            """, [type])
        try db.query("INSERT INTO process_jobs.route_state (job_type) VALUES ($1), ('*') ON CONFLICT DO NOTHING", [type])
        let stores = (plain: JobStore(connection: db, lockedBy: "host:1"),
                      failureJobs: JobStore(connection: db, lockedBy: "host:1", onFailure: "job-failed"))
        for shape in TickShape.allCases {
            try db.query("BEGIN")
            // A lease that expired (for rescue) and two jobs this runner holds (for outcomes).
            try db.query("""
                INSERT INTO job_queue (job_type, payload, status, locked_by, locked_until, processed_at, retry_count, max_retries)
                VALUES ($1, '{}', 'processing', 'host:gone', now() - interval '1 minute', now() - interval '2 minutes', 3, 3)
                """, [type])
            let store = shape.failureJobs ? stores.failureJobs : stores.plain
            let held = try store.tick(outcomes: [], claim: .init(limit: 2, quotas: [(type, 2)], lease: 60, rescue: false)).claimed
            XCTAssertEqual(held.count, 2)
            let outcomes = TickShapeValues.outcomes(shape, held: held)
            let claim = TickShapeValues.claim(shape, type: type, quota: 4)
            let pauses = TickShapeValues.pauses(shape, type: "generate-aplus")
            XCTAssertEqual(TickShape(outcomes: outcomes, claim: claim, pauses: pauses, onFailure: store.onFailure), shape)

            let result = try store.tick(outcomes: outcomes, claim: claim, pauses: pauses)
            XCTAssertEqual(result.recorded.count, outcomes.count, "\(shape)")
            XCTAssertEqual(result.rescued.count, shape.rescue ? 1 : 0, "\(shape)")
            XCTAssertEqual(result.notified.count, shape.failureJobs ? outcomes.count + result.rescued.count : 0, "\(shape)")
            if shape.claim {
                XCTAssertEqual(result.claimed.count, 4, "\(shape): \(result.holds)")
            }
            let paused = try db.query("SELECT count(*) FROM process_jobs.route_pause").values[0][0]
            XCTAssertEqual(paused, shape.pauses ? "1" : "0", "\(shape)")
            try db.query("ROLLBACK")
        }
    }
}
