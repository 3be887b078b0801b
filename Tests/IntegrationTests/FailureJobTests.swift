import Foundation
import PostgresClient
@testable import ProcessJobsCore
import XCTest

/// --on-failure: every path to `failed` queues exactly one failure job, written by the statement
/// that records the failure, and the same run sends it to its route.
final class FailureJobTests: IntegrationTestCase {
    private let arguments = ["run", "--on-failure", "job-failed", "--backoff-base", "100ms", "--backoff-max", "200ms",
                             "--log-format", "json"]

    /// The failure jobs about `id`, their payloads parsed.
    private func failureJobs(of id: String) throws -> [(id: String, status: String, userID: String?, payload: [String: Any])] {
        try db.query("""
            SELECT id, status, user_id, payload::text FROM job_queue
            WHERE job_type = 'job-failed' AND payload->>'failedJobId' = $1 ORDER BY created_at
            """, [id]).values.map { row in
            let payload = (try? JSONSerialization.jsonObject(with: Data(row[3]!.utf8))) as? [String: Any] ?? [:]
            return (row[0]!, row[1]!, row[2], payload)
        }
    }

    func testEachPathToFailedQueuesOneFailureJobThatTheRunSends() throws {
        let app = try startApp()
        // Retries exhausted: 500 on every attempt, one retry allowed (two requests).
        let exhausted = try db.insertJob("generate-image", payload: #"{"projectId":"boom","imageType":"main"}"#, maxRetries: 1)
        // A permanent 4xx on the first attempt.
        let permanent = try db.insertJob("generate-image", payload: #"{"projectId":"missing","imageType":"main"}"#, userId: "user-4xx")
        // Payloads never sent: not an object; over --max-payload (and over 64 KiB: not copied).
        let notObject = try db.insertJob("generate-image", payload: #"[1,"two"]"#, userId: nil)
        let blob = String(repeating: "x", count: 100 * 1024)
        let tooBig = try db.insertJob("generate-aplus", payload: #"{"projectId":"p","blob":"\#(blob)"}"#)
        // An expired lease with no retries left (its runner died with the request out).
        let expired = try db.insertJob("generate-complete-pack", payload: #"{"projectId":"p"}"#, maxRetries: 0)
        let dead = JobStore(connection: try Connection(conninfo: databaseURL), lockedBy: "dead-host:1")
        _ = try dead.tick(outcomes: [], claim: .init(limit: 10, quotas: [("generate-complete-pack", 10)], lease: 60, rescue: false))
        try db.query("UPDATE job_queue SET locked_until = now() - interval '1 second' WHERE id = $1", [expired])

        _ = try runUntilSettled(arguments + ["--max-payload", "80KiB"], environment: environment(app: app), timeout: 60)

        let expectedAttempts = [exhausted: 2, permanent: 1, notObject: 0, tooBig: 0, expired: 1]
        let types = [exhausted: "generate-image", permanent: "generate-image", notObject: "generate-image",
                     tooBig: "generate-aplus", expired: "generate-complete-pack"]
        let requests = try app.requests()
        for (id, attempts) in expectedAttempts {
            let row = try db.job(id)
            XCTAssertEqual(row.status, "failed", id)
            let jobs = try failureJobs(of: id)
            XCTAssertEqual(jobs.count, 1, "exactly one failure job for \(types[id]!)")
            guard let job = jobs.first else { continue }
            let payload = job.payload
            XCTAssertEqual(payload["failedJobId"] as? String, id)
            XCTAssertEqual(payload["jobType"] as? String, types[id])
            XCTAssertEqual(payload["attempts"] as? Int, attempts, "attempts of \(types[id]!) \(id)")
            XCTAssertEqual(payload["error"] as? String, row.errorMessage)
            XCTAssertNotNil(payload["failedAt"] as? String)
            let userID = try db.query("SELECT user_id FROM job_queue WHERE id = $1", [id]).values[0][0]
            XCTAssertEqual(job.userID, userID, "the failure job belongs to the failed job's user")
            XCTAssertEqual(payload["userId"] as? String, userID)
            XCTAssertEqual(job.status, "completed", "sent and answered 200")
            let sent = requests.filter { $0.jobId == job.id }
            XCTAssertEqual(sent.map(\.path), ["/api/job-failed"])
            XCTAssertEqual(sent.first?.json["failedJobId"] as? String, id)
        }
        let copied = try XCTUnwrap(try failureJobs(of: notObject).first?.payload["payload"] as? [Any])
        XCTAssertEqual(copied.first as? Int, 1)
        XCTAssertEqual(copied.last as? String, "two")
        XCTAssertTrue(try failureJobs(of: notObject).first?.payload["userId"] is NSNull)
        XCTAssertEqual((try failureJobs(of: permanent).first?.payload["payload"] as? [String: Any])?["projectId"] as? String, "missing")
        let big = try XCTUnwrap(try failureJobs(of: tooBig).first?.payload)
        XCTAssertTrue(big["payload"] is NSNull, "over 64 KiB: not copied")
        let size = try db.query("SELECT octet_length(payload::text) FROM job_queue WHERE id = $1", [tooBig]).values[0][0]
        XCTAssertEqual((big["payloadBytes"] as? Int).map(String.init), size)
        XCTAssertNil(try failureJobs(of: permanent).first?.payload["payloadBytes"])
        XCTAssertTrue(try XCTUnwrap(try db.job(expired).errorMessage).hasPrefix("lease expired: dead-host:1"))
        XCTAssertEqual(try db.count(where: "job_type = 'job-failed'"), 5, "nothing else was queued")
    }

    func testTheRunThatCreatesFailureJobsSendsThemBeforeItEnds() throws {
        let app = try startApp()
        let id = try db.insertJob("generate-image", payload: #"[]"#)
        let run = try runBinary(arguments, environment: environment(app: app))
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertEqual(Fault.field(try XCTUnwrap(Fault.summary(run.stderr)), "stop"), "drained")
        let job = try XCTUnwrap(try failureJobs(of: id).first)
        XCTAssertEqual(job.status, "completed", "sent in the same run, not left for the next")
        XCTAssertEqual(try app.requests(forJob: job.id).count, 1)
    }

    func testAFailureJobThatFailsCreatesNoOther() throws {
        let app = try startApp()
        try app.setRules(#"[{"match": {"path": "/api/job-failed"}, "action": {"status": 422}}]"#)
        let id = try db.insertJob("generate-image", payload: #"{"projectId":"missing"}"#)
        _ = try runUntilSettled(arguments, environment: environment(app: app), timeout: 30)
        let job = try XCTUnwrap(try failureJobs(of: id).first)
        XCTAssertEqual(job.status, "failed", "the failure job itself failed (422)")
        XCTAssertEqual(try app.requests(forJob: job.id).count, 1)
        XCTAssertEqual(try db.count(where: "true"), 2, "no failure job about a failure job")
    }

    func testFailureJobsAreClaimedSubjectToJobType() throws {
        let app = try startApp()
        let id = try db.insertJob("generate-image", payload: #"{"projectId":"missing"}"#)
        let run = try runBinary(arguments + ["--job-type", "generate-image"], environment: environment(app: app))
        XCTAssertEqual(run.status, 0, run.stderr)
        let job = try XCTUnwrap(try failureJobs(of: id).first)
        XCTAssertEqual(job.status, "pending", "queued, but this run does not claim job-failed")
        XCTAssertEqual(try app.requests(forJob: job.id).count, 0)
    }

    func testWithoutTheFlagNoFailureJobIsQueued() throws {
        let app = try startApp()
        let id = try db.insertJob("generate-image", payload: #"{"projectId":"missing"}"#)
        let run = try runBinary(["run"], environment: environment(app: app))
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertEqual(try db.job(id).status, "failed")
        XCTAssertEqual(try db.count(where: "true"), 1)
    }

    func testARouteForTheFailureTypeWins() throws {
        let app = try startApp()
        let id = try db.insertJob("generate-image", payload: #"{"projectId":"missing"}"#)
        let run = try runBinary(arguments + ["--route", "job-failed=/api/process-image"], environment: environment(app: app))
        XCTAssertEqual(run.status, 0, run.stderr)
        let job = try XCTUnwrap(try failureJobs(of: id).first)
        XCTAssertEqual(try app.requests(forJob: job.id).map(\.path), ["/api/process-image"])
    }

    func testRetryOfAFailedJobWorksAsBefore() throws {
        let app = try startApp()
        let id = try db.insertJob("generate-image", payload: #"{"projectId":"missing"}"#)
        XCTAssertEqual(try runBinary(arguments, environment: environment(app: app)).status, 0)
        let retry = try runBinary(["retry", id], environment: environment(app: nil))
        XCTAssertEqual(retry.status, 0, retry.stderr)
        XCTAssertEqual(try db.job(id).status, "pending")
        XCTAssertEqual(try runBinary(arguments, environment: environment(app: app)).status, 0)
        XCTAssertEqual(try db.job(id).status, "failed")
        XCTAssertEqual(try failureJobs(of: id).count, 2, "one failure job per failure")
    }
}

/// `status` lists the latest failures with their failure jobs' state.
final class FailureJobStatusTests: IntegrationTestCase {
    func testStatusShowsEachRecentFailureWithItsFailureJob() throws {
        let app = try startApp()
        try app.setRules(#"[{"match": {"path": "/api/job-failed"}, "action": {"status": 503}}]"#)
        let notified = try db.insertJob("generate-image", payload: #"{"projectId":"missing"}"#)
        let run = try runBinary(["run", "--on-failure", "job-failed"], environment: environment(app: app))
        XCTAssertEqual(run.status, 0, run.stderr)
        // Failed without --on-failure: no failure job.
        let silent = try db.insertJob("generate-aplus", payload: #"{"projectId":"missing"}"#)
        XCTAssertEqual(try runBinary(["run", "--job-type", "generate-aplus"], environment: environment(app: app)).status, 0)
        // Failed long ago: not recent.
        try db.query("INSERT INTO job_queue (job_type, payload, status, completed_at) VALUES ('generate-image', '{}', 'failed', now() - interval '3 days')")
        let failureJob = try XCTUnwrap(try db.query("SELECT id FROM job_queue WHERE job_type = 'job-failed'").values.first?[0] ?? nil)

        let json = try runBinary(["status", "--json", "--on-failure", "job-failed"], environment: environment(app: nil))
        XCTAssertEqual(json.status, 0, json.stderr)
        let document = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let failures = try XCTUnwrap(document["recent_failures"] as? [[String: Any]])
        XCTAssertEqual(failures.map { $0["id"] as? String }, [silent, notified], "newest first; the old one left out")
        XCTAssertTrue(failures[0]["failure_job"] is NSNull)
        let job = try XCTUnwrap(failures[1]["failure_job"] as? [String: Any])
        XCTAssertEqual(job["id"] as? String, failureJob)
        XCTAssertEqual(job["status"] as? String, "pending", "its 503 sent it back to wait")
        let types = try XCTUnwrap(document["types"] as? [[String: Any]])
        XCTAssertEqual(types.first { $0["type"] as? String == "job-failed" }?["routed"] as? Bool, true)

        let table = try runBinary(["status"], environment: environment(app: nil))
        XCTAssertEqual(table.status, 0, table.stderr)
        XCTAssertTrue(table.stdout.contains("\(failureJob) pending"), table.stdout)
    }
}
