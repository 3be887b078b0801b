import PostgresClient
@testable import ProcessJobsCore
import XCTest

/// Listen mode's session prepares the tick (parsed and planned once per connection); every
/// other connection sends it unnamed, as a transaction pooler needs.
final class PreparedTickTests: IntegrationTestCase {
    private func preparedCount(_ connection: Connection) throws -> String? {
        try connection.query("SELECT count(*) FROM pg_prepared_statements").values[0][0]
    }

    func testARepeatedStatementIsPreparedOnceOnASessionThatAllowsIt() throws {
        let session = try Connection(conninfo: databaseURL)
        session.preparesRepeatedStatements = true
        let sql = "SELECT $1::int + $2::int"
        for (a, b, sum) in [("1", "2", "3"), ("40", "2", "42"), ("5", "5", "10")] {
            let before = session.roundTrips
            try session.sendRepeated(sql, [a, b])
            XCTAssertEqual(try session.waitResult().values[0][0], sum)
            XCTAssertEqual(session.roundTrips - before, sum == "3" ? 3 : 1, "the first time also sets generic plans and prepares")
        }
        XCTAssertEqual(try preparedCount(session), "1")
        XCTAssertEqual(try session.query("SHOW plan_cache_mode").values[0][0], "force_generic_plan",
                       "planned once for all claims, not again for each claim's values")

        let pooled = try Connection(conninfo: databaseURL)
        try pooled.sendRepeated(sql, ["1", "2"])
        XCTAssertEqual(try pooled.waitResult().values[0][0], "3")
        XCTAssertEqual(try preparedCount(pooled), "0", "unnamed: nothing left in the session")
        XCTAssertEqual(try pooled.query("SHOW plan_cache_mode").values[0][0], "auto", "no session state behind a pooler")
    }

    func testTheTickWorksPreparedAcrossShapes() throws {
        let connection = try Connection(conninfo: databaseURL)
        connection.preparesRepeatedStatements = true
        let store = JobStore(connection: connection, lockedBy: "host:1")
        for _ in 0..<6 { _ = try db.insertJob("generate-image") }
        let claim = JobStore.Claim(limit: 2, quotas: [("generate-image", 2)], lease: 60, rescue: false, fairBy: .user)
        var done = 0
        // More than five runs of one text: PostgreSQL may switch a prepared statement to a generic plan.
        for _ in 0..<8 {
            let result = try store.tick(outcomes: [], claim: claim)
            let outcomes = result.claimed.map { PendingOutcome(job: $0, outcome: .complete(result: nil)) }
            done += try store.tick(outcomes: outcomes, claim: nil).recorded.count
        }
        XCTAssertEqual(done, 6)
        XCTAssertEqual(try db.query("SELECT count(*) FROM job_queue WHERE status = 'completed'").values[0][0], "6")
        XCTAssertEqual(try preparedCount(connection), "3", "a claim's first shape (its route's first claim), the fair claim, the record")
    }
}
