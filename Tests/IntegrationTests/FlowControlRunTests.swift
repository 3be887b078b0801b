import Foundation
import PostgresClient
@testable import ProcessJobsCore
import XCTest

/// Flow control as the app sees it, with several runner processes sharing one database: route
/// rates and route concurrency hold across all of them, fair shares let a small user through a
/// big one's backlog, a 429 seen by one runner holds the route off for all, and jobs held back
/// are not touched at all.
final class FlowControlRunTests: IntegrationTestCase {
    private func startRunners(_ count: Int, _ arguments: [String], app: TestApp) throws -> [Child] {
        try (0..<count).map { _ in
            try startBinary(["run", "--log-format", "json"] + arguments, environment: environment(app: app))
        }
    }

    private func finish(_ runners: [Child], timeout: Double = 120) -> [CommandResult] {
        runners.map { runner in
            let result = runner.result(timeout: timeout)
            XCTAssertEqual(result.status, 0, result.stderr)
            return result
        }
    }

    private func jobRequests(_ app: TestApp) throws -> [AppRequest] {
        try app.requests().filter { $0.path.hasPrefix("/api/") }.sorted { $0.time < $1.time }
    }

    /// (a) 4 runners, --route-rate generate-image=20/2s: in every 2-second window the app sees at
    /// most 20 starts + burst (1) + 1 for arrival jitter, summed over all runners.
    func testRouteRateHoldsAcrossFourRunners() throws {
        let app = try startApp()
        try db.insertJobs("generate-image", count: 200)
        let runners = try startRunners(4, ["--route-rate", "generate-image=20/2s"], app: app)
        _ = finish(runners)
        XCTAssertEqual(try db.count(where: "status = 'completed'"), 200)
        let starts = try jobRequests(app).map(\.time)
        XCTAssertEqual(starts.count, 200, "every job sent once")
        var busiest = 0
        var low = 0
        for high in starts.indices {
            while starts[high] - starts[low] >= 2 { low += 1 }
            busiest = max(busiest, high - low + 1)
        }
        XCTAssertLessThanOrEqual(busiest, 22, "starts in the busiest 2 s window")
        XCTAssertGreaterThanOrEqual(starts.last! - starts.first!, 17, "200 starts at 10/s take about 20 s")
    }

    /// (b) --route-concurrency generate-image=3 with 4 runners: never more than 3 requests of that
    /// type open at the app at once (each answer takes 150 ms).
    func testRouteConcurrencyIsGlobal() throws {
        let app = try startApp(arguments: ["--delay-ms", "150"])
        try db.insertJobs("generate-image", count: 60)
        let runners = try startRunners(4, ["--route-concurrency", "generate-image=3"], app: app)
        _ = finish(runners)
        XCTAssertEqual(try db.count(where: "status = 'completed'"), 60)
        let requests = try jobRequests(app)
        XCTAssertEqual(requests.count, 60)
        // +1 at an end, -1 at a start first when both fall at the same instant.
        var events: [(time: Double, change: Int)] = []
        for request in requests {
            events.append((request.time, 1))
            events.append((request.time + (request.delayMs ?? 0) / 1000, -1))
        }
        events.sort { $0.time == $1.time ? $0.change < $1.change : $0.time < $1.time }
        var open = 0, most = 0
        for (_, change) in events {
            open += change
            most = max(most, open)
        }
        XCTAssertLessThanOrEqual(most, 3, "requests open at once, all runners together")
        XCTAssertEqual(most, 3, "the limit is used, not undershot")
    }

    /// (c) User A has 500 jobs queued, then user B enqueues 5 while the run goes on: B's 5 are
    /// sent among the first 2 × (concurrency + batch size) requests after B's enqueue.
    func testSmallUserIsServedThroughBigUsersBacklog() throws {
        let app = try startApp(arguments: ["--delay-ms", "20"])
        try db.query("""
            INSERT INTO job_queue (job_type, payload, user_id, created_at)
            SELECT 'generate-image', '{"projectId":"a"}', 'user-a', now() - interval '1 hour' + g * interval '1 ms'
            FROM generate_series(1, 500) g
            """)
        let runner = try startBinary(["run", "--log-format", "json"], environment: environment(app: app))
        awaitCondition("the run to be under way") { ((try? self.jobRequests(app).count) ?? 0) >= 20 }
        try db.query("""
            INSERT INTO job_queue (job_type, payload, user_id)
            SELECT 'generate-image', '{"projectId":"b"}', 'user-b' FROM generate_series(1, 5)
            """)
        let sentBefore = try jobRequests(app).count
        _ = finish([runner])
        let requests = try jobRequests(app)
        XCTAssertEqual(requests.count, 505)
        let positions = requests.indices.filter { requests[$0].json["userId"] as? String == "user-b" }
        XCTAssertEqual(positions.count, 5)
        let bound = sentBefore + 2 * (16 + 50)
        XCTAssertTrue(positions.allSatisfy { $0 < bound },
                      "user B's jobs at \(positions), all before request \(bound) (oldest first would put them last)")
    }

    /// (d) A 429 with Retry-After 5 answered to one runner holds that route off for another
    /// runner that starts right after it: that one sends nothing of the route while the pause
    /// lasts (and does not wait it out: the next run finds the route as the pause left it).
    func testTooManyRequestsPausesTheRouteForEveryRunner() throws {
        let app = try startApp()
        try app.setRules(#"[{"match": {"jobType": "generate-image"}, "times": 1, "action": {"status": 429, "headers": {"Retry-After": "5"}}}]"#)
        try db.insertJobs("generate-image", count: 1)
        let first = try runBinary(["run", "--once", "--log-format", "json"], environment: environment(app: app))
        XCTAssertEqual(first.status, 0, first.stderr)
        let refused = try XCTUnwrap(try jobRequests(app).first)
        XCTAssertEqual(refused.status, 429)

        try db.insertJobs("generate-image", count: 1)
        try db.insertJob("generate-aplus", payload: #"{"projectId":"p"}"#)
        let second = try runBinary(["run", "--log-format", "json"], environment: environment(app: app))
        XCTAssertEqual(second.status, 0, second.stderr)
        let duringPause = try jobRequests(app).dropFirst()
        XCTAssertEqual(duringPause.map(\.jobType), ["generate-aplus"], "the other runner held the paused route off; other routes went on")
        XCTAssertEqual(try db.count(where: "job_type = 'generate-image' AND status = 'pending'"), 2)

        awaitCondition("the pause the app asked for to end", timeout: 15) {
            (try? self.db.query("SELECT count(*) FROM process_jobs.route_pause WHERE paused_until > now()").values[0][0]) == "0"
        }
        XCTAssertGreaterThanOrEqual(Date().timeIntervalSince1970 - refused.time, 4.5)
        let after = try runBinary(["run", "--log-format", "json"], environment: environment(app: app))
        XCTAssertEqual(after.status, 0, after.stderr)
        XCTAssertEqual(try db.count(where: "status = 'completed'"), 3, "the route is served once the pause ends")
    }

    /// (e) Jobs held back by a rate stay exactly as they were, and a run whose next slot comes
    /// after its --max-runtime ends with stop=rate_limited and when the next one is due.
    func testHeldJobsAreNotTouched() throws {
        let app = try startApp()
        try db.insertJobs("generate-image", count: 3)
        let before = try rows()
        let result = try runBinary(["run", "--route-rate", "generate-image=1/1h", "--log-format", "json"],
                                   environment: environment(app: app))
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(try jobRequests(app).count, 1, "one start per hour")
        let summary = try XCTUnwrap(result.stderr.split(separator: "\n").last { $0.contains("\"run done\"") })
        XCTAssertTrue(summary.contains("\"stop\":\"rate_limited\""), String(summary))
        XCTAssertTrue(summary.contains("\"next_due_in\""), String(summary))
        let after = try rows()
        let sent = try XCTUnwrap(try jobRequests(app).first?.jobId)
        XCTAssertEqual(after.filter { $0.key != sent }, before.filter { $0.key != sent }, "held jobs byte for byte unchanged")
    }

    /// Every row as its full text, by id.
    private func rows() throws -> [String: String] {
        var rows: [String: String] = [:]
        for row in try db.query("SELECT id::text, row_to_json(j)::text FROM job_queue j").values {
            rows[row[0] ?? ""] = row[1] ?? ""
        }
        return rows
    }
}
