import Foundation
import PostgresClient
@testable import ProcessJobsCore
import XCTest

/// Every row of the contract's outcome table, against the real app and database.
final class OutcomeTests: IntegrationTestCase {
    func testSuccessCompletesWithResultAndSendsContractRequest() throws {
        let app = try startApp()
        let id = try db.insertJob("generate-image",
                                  payload: #"{"projectId":"p1","imageType":"main","style":"modern","generateImages":true,"userId":"spoofed"}"#,
                                  userId: "user-42")
        let report = try runEngine(app: app)
        XCTAssertEqual(report.summary.completed, 1)

        let row = try db.job(id)
        XCTAssertEqual(row.status, "completed")
        XCTAssertTrue(row.completed)
        XCTAssertNil(row.lockedBy)
        XCTAssertTrue(row.result?.contains(#""success": true"#) ?? false, row.result ?? "nil")

        let request = try XCTUnwrap(app.requests(forJob: id).first)
        XCTAssertEqual(request.path, "/api/process-image")
        XCTAssertEqual(request.method, "POST")
        XCTAssertEqual(request.headers["content-type"], "application/json")
        XCTAssertEqual(request.headers["authorization"], "Bearer test-token")
        XCTAssertEqual(request.idempotencyKey, id)
        XCTAssertEqual(request.headers["x-job-id"], id)
        XCTAssertEqual(request.headers["x-job-type"], "generate-image")
        XCTAssertEqual(request.headers["x-job-attempt"], "1")
        XCTAssertEqual(request.headers["user-agent"], "process-jobs/\(Version.current)")
        // Every payload field arrives; the row's user_id wins over a userId in the payload.
        let body = request.json
        XCTAssertEqual(body["projectId"] as? String, "p1")
        XCTAssertEqual(body["style"] as? String, "modern")
        XCTAssertEqual(body["generateImages"] as? Bool, true)
        XCTAssertEqual(body["userId"] as? String, "user-42")
    }

    func testEachTypeGoesToItsRoute() throws {
        let app = try startApp()
        let image = try db.insertJob("generate-image")
        let pack = try db.insertJob("generate-complete-pack", payload: #"{"projectId":"p","includeAPlus":false}"#)
        let aplus = try db.insertJob("generate-aplus", payload: #"{"projectId":"p"}"#)
        _ = try runEngine(app: app)
        XCTAssertEqual(try app.requests(forJob: image).map(\.path), ["/api/process-image"])
        XCTAssertEqual(try app.requests(forJob: pack).map(\.path), ["/api/process-complete-pack"])
        XCTAssertEqual(try app.requests(forJob: aplus).map(\.path), ["/api/process-aplus"])
        XCTAssertEqual(try db.count(where: "status = 'completed'"), 3)
    }

    func testNullUserIdSendsPayloadAsIs() throws {
        let app = try startApp()
        let id = try db.insertJob("generate-aplus", payload: #"{"projectId":"p"}"#, userId: nil)
        _ = try runEngine(app: app)
        let body = try XCTUnwrap(app.requests(forJob: id).first).json
        XCTAssertNil(body["userId"])
        XCTAssertEqual(body["projectId"] as? String, "p")
    }

    func testServerErrorIsRetriedWithBackoffAndTheAppsMessage() throws {
        let app = try startApp()
        let id = try db.insertJob("generate-image", payload: #"{"projectId":"boom"}"#)
        _ = try runEngine(app: app) { $0.retry = RetryPolicy(base: 30, cap: 3600, jitter: 0.2) }
        let row = try db.job(id)
        XCTAssertEqual(row.status, "pending")
        XCTAssertEqual(row.retryCount, 1)
        XCTAssertEqual(row.errorMessage, "Generation failed: boom", "the app's JSON error, not .message")
        XCTAssertGreaterThan(row.runInSeconds, 30 * 0.8 - 2)
        XCTAssertLessThan(row.runInSeconds, 30 * 1.2 + 1)
        XCTAssertNil(row.lockedBy)
    }

    func testRetryableStatusesAreRetried() throws {
        let app = try startApp()
        for status in [408, 425, 429, 500, 502, 503, 504] {
            let id = try db.insertJob("generate-image", payload: #"{"projectId":"s\#(status)"}"#)
            try app.setRules(#"[{"match": {"jobId": "\#(id)"}, "action": {"status": \#(status), "body": {"error": "e\#(status)"}}}]"#)
            _ = try runEngine(app: app)
            let row = try db.job(id)
            XCTAssertEqual(row.status, "pending", "HTTP \(status)")
            XCTAssertEqual(row.retryCount, 1, "HTTP \(status)")
            XCTAssertEqual(row.errorMessage, "e\(status)")
            XCTAssertGreaterThan(row.runInSeconds, 1, "HTTP \(status) must back off")
            // 429, 502, 503 and 504 also pause the route for every runner (shared state): each
            // status is tried on a calm route.
            try db.query("DELETE FROM process_jobs.route_pause")
        }
    }

    func testRetryAfterIsHonoured() throws {
        let app = try startApp()
        let id = try db.insertJob("generate-image")
        try app.setRules(#"[{"match": {"jobId": "\#(id)"}, "action": {"status": 429, "headers": {"Retry-After": "120"}}}]"#)
        _ = try runEngine(app: app)
        let row = try db.job(id)
        XCTAssertEqual(row.retryCount, 1)
        XCTAssertEqual(row.runInSeconds, 120, accuracy: 3)
    }

    func testPermanentErrorsFailAtOnceWithTheAppsMessage() throws {
        let app = try startApp()
        let cases: [(Int, String)] = [(400, #"{"error":"Missing required fields"}"#), (404, #"{"error":"Project not found"}"#),
                                      (410, #"{"message":"gone for good"}"#), (422, "unprocessable plain text")]
        for (status, body) in cases {
            let id = try db.insertJob("generate-image", payload: #"{"projectId":"x\#(status)"}"#)
            let encoded = String(data: try JSONSerialization.data(withJSONObject: [body], options: .fragmentsAllowed), encoding: .utf8)!.dropFirst().dropLast()
            try app.setRules(#"[{"match": {"jobId": "\#(id)"}, "action": {"status": \#(status), "body": \#(encoded)}}]"#)
            _ = try runEngine(app: app)
            let row = try db.job(id)
            XCTAssertEqual(row.status, "failed", "HTTP \(status)")
            XCTAssertEqual(row.retryCount, 0, "HTTP \(status): no retry granted")
            XCTAssertTrue(row.completed)
            XCTAssertEqual(try app.requests(forJob: id).count, 1, "no retry for HTTP \(status)")
        }
        XCTAssertEqual(try db.jobs(where: "payload->>'projectId' = 'x400'")[0].errorMessage, "Missing required fields")
        XCTAssertEqual(try db.jobs(where: "payload->>'projectId' = 'x404'")[0].errorMessage, "Project not found")
        XCTAssertEqual(try db.jobs(where: "payload->>'projectId' = 'x410'")[0].errorMessage, "gone for good")
        XCTAssertEqual(try db.jobs(where: "payload->>'projectId' = 'x422'")[0].errorMessage, "HTTP 422: unprocessable plain text")
    }

    func testPayloadThatIsNotAnObjectFailsWithoutARequest() throws {
        let app = try startApp()
        var ids: [String] = []
        for payload in ["[1,2]", #""text""#, "42", "null"] {
            ids.append(try db.insertJob("generate-image", payload: payload))
        }
        _ = try runEngine(app: app)
        for id in ids {
            let row = try db.job(id)
            XCTAssertEqual(row.status, "failed")
            XCTAssertTrue(row.errorMessage?.contains("payload is not a JSON object") ?? false, row.errorMessage ?? "")
        }
        XCTAssertEqual(try app.requests().count, 0)
    }

    func testRetriesExhaustedFails() throws {
        let app = try startApp()
        let id = try db.insertJob("generate-image", payload: #"{"projectId":"boom"}"#, maxRetries: 2)
        try db.query("UPDATE job_queue SET retry_count = 2 WHERE id = $1", [id])
        _ = try runEngine(app: app)
        let row = try db.job(id)
        XCTAssertEqual(row.status, "failed")
        XCTAssertEqual(row.retryCount, 2, "a job that ends failed keeps the retries it was granted")
        XCTAssertEqual(try app.requests(forJob: id).first?.attempt, 3)
    }

    func testTimeoutAndDroppedConnectionsAreRetried() throws {
        let app = try startApp()
        let hung = try db.insertJob("generate-image", payload: #"{"projectId":"hang"}"#)
        let dropped = try db.insertJob("generate-image", payload: #"{"projectId":"drop"}"#)
        let cut = try db.insertJob("generate-image", payload: #"{"projectId":"cut"}"#)
        try app.setRules("""
            [{"match": {"projectId": "hang"}, "action": {"hang": 30}},
             {"match": {"projectId": "drop"}, "action": {"drop": "before"}},
             {"match": {"projectId": "cut"}, "action": {"drop": "mid"}}]
            """)
        _ = try runEngine(app: app) { $0.requestTimeout = 1; $0.lease = 10 }
        for id in [hung, dropped, cut] {
            let row = try db.job(id)
            XCTAssertEqual(row.status, "pending", row.errorMessage ?? "")
            XCTAssertEqual(row.retryCount, 1)
        }
        XCTAssertEqual(try db.job(hung).errorMessage, "timed out after 1s")
        XCTAssertTrue(try db.job(dropped).errorMessage?.contains("connection lost after sending") ?? false)
    }

    func testTokenRejectedReleasesUntouchedAndStops() throws {
        let app = try startApp(token: "the-right-one")
        let id = try db.insertJob("generate-image")
        let result = try runBinary(["run"], environment: environment(app: app, token: "wrong"))
        XCTAssertEqual(result.status, 77, result.stderr)
        XCTAssertTrue(result.stderr.contains("rejected the service-role key"), result.stderr)
        XCTAssertFalse(result.stderr.contains("wrong"), "the token must never be printed")
        let row = try db.job(id)
        XCTAssertEqual(row.status, "pending")
        XCTAssertEqual(row.retryCount, 0)
        XCTAssertNil(row.lockedBy)
        XCTAssertLessThan(row.runInSeconds, 0, "released untouched: still due")
    }

    func testUnreachableAppReleasesWithoutChargeAndExits69() throws {
        for _ in 0..<5 { try db.insertJob("generate-image") }
        let result = try runBinary(["run", "--app-url", "http://127.0.0.1:9"], environment: environment(app: nil))
        XCTAssertEqual(result.status, 69, result.stderr)
        XCTAssertTrue(result.stderr.contains("unreachable"), result.stderr)
        XCTAssertEqual(try db.count(where: "status = 'pending' AND retry_count = 0 AND locked_by IS NULL"), 5)
    }

    func testUnroutedTypesAreNeverClaimed() throws {
        let app = try startApp()
        let id = try db.insertJob("send-newsletter", payload: "{}")
        _ = try runEngine(app: app)
        let row = try db.job(id)
        XCTAssertEqual(row.status, "pending")
        XCTAssertEqual(row.retryCount, 0)
        XCTAssertEqual(try app.requests().count, 0)
    }

    func testCompletePackFanOutIsDrainedInOneRun() throws {
        let app = try startApp(withDatabase: true)
        try db.insertJob("generate-complete-pack", payload: #"{"projectId":"p9","includeAPlus":true,"style":"bold"}"#, userId: "u9")
        let report = try runEngine(app: app)
        XCTAssertEqual(report.summary.completed, 8, "the pack, six images and one A+")
        XCTAssertEqual(try db.count(where: "status = 'completed'"), 8)
        XCTAssertEqual(try db.count(where: "status <> 'completed'"), 0)
        let images = try app.requests().filter { $0.path == "/api/process-image" }
        XCTAssertEqual(images.count, 6)
        XCTAssertTrue(images.allSatisfy { $0.json["userId"] as? String == "u9" })
    }

    func testOnceClaimsOneBatch() throws {
        let app = try startApp()
        try db.insertJobs("generate-aplus", count: 30, payload: #"{"projectId":"p"}"#)
        let report = try runEngine(app: app) { $0.once = true; $0.batchSize = 10 }
        XCTAssertEqual(report.summary.completed, 10)
        XCTAssertEqual(report.stopReason, .onceDone)
        XCTAssertEqual(try db.count(where: "status = 'pending'"), 20)
    }

    func testRoundTripsStayFarBelowOnePerJob() throws {
        let app = try startApp()
        try db.insertJobs("generate-aplus", count: 500, payload: #"{"projectId":"p"}"#)
        let report = try runEngine(app: app) { $0.concurrency = 32; $0.batchSize = 50 }
        XCTAssertEqual(report.summary.completed, 500)
        XCTAssertLessThan(Double(report.roundTrips) / 500, 0.25, "round trips: \(report.roundTrips)")
    }
}
