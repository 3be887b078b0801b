import Foundation
import PostgresClient
@testable import ProcessJobsCore
import XCTest

/// The app says "slow down" (429/503) for one route, or a route has its own concurrency limit:
/// that route waits, the others go on, and nothing is charged for waiting.
final class BackpressureTests: IntegrationTestCase {
    private let arguments = ["run", "--concurrency", "4", "--batch-size", "16", "--log-format", "json"]

    /// 20 images (older, claimed first) and 20 A+ jobs; the first image request gets `answer`.
    private func runWithFirstImageAnswer(_ answer: String) throws -> (app: TestApp, result: CommandResult, refused: AppRequest) {
        let app = try startApp(arguments: ["--delay-ms", "300"])
        try db.insertJobs("generate-image", count: 20)
        try db.query("UPDATE job_queue SET created_at = created_at - interval '1 minute'")
        try db.insertJobs("generate-aplus", count: 20, payload: #"{"projectId":"p"}"#)
        try app.setRules(#"[{"match": {"jobType": "generate-image"}, "times": 1, "action": \#(answer)}]"#)
        let result = try runBinary(arguments, environment: environment(app: app))
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stderr.contains("route paused"), result.stderr)
        let refused = try XCTUnwrap(app.requests().first { $0.fault == "rule:0" })
        return (app, result, refused)
    }

    /// Image jobs by what happened to them: sent, claimed-and-given-back, never claimed.
    private func imageRows(_ app: TestApp) throws -> (sent: [JobRow], givenBack: [JobRow], untouched: [JobRow]) {
        let sentIds = Set(try app.requests().filter { $0.jobType == "generate-image" }.compactMap(\.jobId))
        let rows = try db.jobs(where: "job_type = 'generate-image'")
        let unsent = rows.filter { !sentIds.contains($0.id) }
        // A claim sets processed_at; a release restores it, so "claimed" shows in updated_at only.
        let claimedIds = Set(try db.query("SELECT id FROM job_queue WHERE job_type = 'generate-image' AND updated_at IS NOT NULL")
            .values.map { $0[0]! })
        return (rows.filter { sentIds.contains($0.id) }, unsent.filter { claimedIds.contains($0.id) },
                unsent.filter { !claimedIds.contains($0.id) })
    }

    func testTooManyRequestsWithRetryAfterPausesOnlyThatRoute() throws {
        let (app, _, refused) = try runWithFirstImageAnswer(#"{"status": 429, "headers": {"Retry-After": "60"}}"#)
        let (sent, givenBack, untouched) = try imageRows(app)
        let refusedRow = try db.job(refused.jobId!)
        XCTAssertEqual(refusedRow.status, "pending")
        XCTAssertEqual(refusedRow.retryCount, 1, "the 429 itself is a failed attempt")
        XCTAssertEqual(refusedRow.runInSeconds, 60, accuracy: 5, "due at the Retry-After time")
        // Claimed but not sent: back uncharged, due at the Retry-After time too.
        XCTAssertFalse(givenBack.isEmpty)
        for row in givenBack {
            XCTAssertEqual(row.status, "pending")
            XCTAssertEqual(row.retryCount, 0)
            XCTAssertEqual(row.runInSeconds, 60, accuracy: 5)
        }
        XCTAssertTrue(try givenBack.allSatisfy { try db.query("SELECT processed_at FROM job_queue WHERE id = $1", [$0.id]).values[0][0] == nil },
                      "released untouched: processed_at restored")
        // Never claimed: still due, untouched. The requests already in flight finished.
        XCTAssertTrue(untouched.allSatisfy { $0.status == "pending" && $0.retryCount == 0 && $0.runInSeconds < 0 })
        XCTAssertTrue(sent.filter { $0.id != refused.jobId }.allSatisfy { $0.status == "completed" })
        // Nothing more went to that route after the 429; the other route finished everything.
        let late = try app.requests().filter { $0.jobType == "generate-image" && $0.time > refused.time + 0.1 }
        XCTAssertEqual(late.count, 0)
        XCTAssertEqual(try db.count(where: "job_type = 'generate-aplus' AND status = 'completed'"), 20)
        print("429 Retry-After 60: \(sent.count) image requests (1 refused), \(givenBack.count) given back uncharged for 60s, "
              + "\(untouched.count) never claimed; 20/20 A+ completed")
    }

    func testServiceUnavailableWithoutRetryAfterPausesThatRouteForTheRun() throws {
        try assertPausedForTheRun(status: 503)
    }

    /// A reverse proxy's 502 or 504 (the app is down behind nginx) means what 503 means: one
    /// attempt charged to the job that got it, the route paused, its unsent jobs back uncharged.
    func testBadGatewayPausesThatRouteLikeServiceUnavailable() throws {
        try assertPausedForTheRun(status: 502)
    }

    func testGatewayTimeoutPausesThatRouteLikeServiceUnavailable() throws {
        try assertPausedForTheRun(status: 504)
    }

    private func assertPausedForTheRun(status: Int) throws {
        let (app, _, refused) = try runWithFirstImageAnswer(#"{"status": \#(status)}"#)
        let (_, givenBack, untouched) = try imageRows(app)
        let refusedRow = try db.job(refused.jobId!)
        XCTAssertEqual(refusedRow.retryCount, 1)
        // The standard backoff, 30s +/- 20%, less the time the run went on after writing it.
        XCTAssertGreaterThan(refusedRow.runInSeconds, 30 * 0.8 - 5)
        XCTAssertLessThan(refusedRow.runInSeconds, 30 * 1.2 + 0.5)
        XCTAssertFalse(givenBack.isEmpty)
        for row in givenBack + untouched {
            XCTAssertEqual(row.status, "pending")
            XCTAssertEqual(row.retryCount, 0, "uncharged")
            XCTAssertLessThan(row.runInSeconds, 0, "run_at as it was: due for the next run")
        }
        XCTAssertEqual(try app.requests().filter { $0.jobType == "generate-image" && $0.time > refused.time + 0.1 }.count, 0,
                       "paused for the rest of the run")
        XCTAssertEqual(try db.count(where: "job_type = 'generate-aplus' AND status = 'completed'"), 20)
    }

    /// At most two image requests at once, measured from the app's own log, while A+ jobs use
    /// the other slots.
    func testRouteConcurrencyLimitsRequestsInFlight() throws {
        let app = try startApp(arguments: ["--delay-ms", "100-200"])
        try db.insertJobs("generate-image", count: 20)
        try db.insertJobs("generate-aplus", count: 40, payload: #"{"projectId":"p"}"#)
        let result = try runBinary(["run", "--concurrency", "8", "--route-concurrency", "generate-image=2", "--log-format", "json"],
                                   environment: environment(app: app))
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(try db.count(where: "status = 'completed'"), 60)
        let requests = try app.requests()
        // Each request occupies [arrival, arrival + its delay] at the app; the runner sends the next
        // only after the answer, so these intervals overlap no more than the runner's in-flight count.
        func peak(_ type: String) -> Int {
            var events: [(time: Double, change: Int)] = []
            for request in requests where request.jobType == type {
                events.append((request.time, 1))
                events.append((request.time + (request.delayMs ?? 0) / 1000, -1))
            }
            // Ends before starts at the same instant.
            events.sort { $0.time != $1.time ? $0.time < $1.time : $0.change < $1.change }
            var current = 0, highest = 0
            for event in events {
                current += event.change
                highest = max(highest, current)
            }
            return highest
        }
        XCTAssertEqual(peak("generate-image"), 2)
        XCTAssertGreaterThan(peak("generate-aplus"), 2, "the other route used the free slots")
        let lastImage = requests.filter { $0.jobType == "generate-image" }.map(\.time).max()!
        let lastAplus = requests.filter { $0.jobType == "generate-aplus" }.map(\.time).max()!
        XCTAssertLessThan(lastAplus, lastImage, "A+ jobs did not wait behind the images")
        print("route concurrency: image peak \(peak("generate-image")) in flight (limit 2), A+ peak \(peak("generate-aplus"))")
    }

    /// A claim takes per-route limits into account: with image requests limited to 2 in flight
    /// across all runners, `--once` claims 2 image jobs, not a batch of jobs that would sit
    /// waiting (the route's first claim anywhere, which makes its shared row, is not the one).
    func testClaimIsNotFilledWithJobsThatCannotBeSent() throws {
        let app = try startApp()
        try db.insertJobs("generate-image", count: 30)
        let result = try runBinary(["run", "--once", "--batch-size", "20", "--concurrency", "8",
                                    "--route-concurrency", "generate-image=2", "--log-format", "json"],
                                   environment: environment(app: app))
        XCTAssertEqual(result.status, 0, result.stderr)
        let summary = try XCTUnwrap(Fault.summary(result.stderr))
        XCTAssertEqual(Fault.field(summary, "claimed"), "2")
        XCTAssertEqual(try db.count(where: "status = 'completed'"), 2)
        XCTAssertEqual(try db.count(where: "status = 'pending' AND processed_at IS NULL AND updated_at IS NULL"), 28, "never claimed")
    }
}
