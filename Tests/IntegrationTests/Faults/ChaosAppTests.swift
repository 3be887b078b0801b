import Foundation
import PostgresClient
@testable import ProcessJobsCore
import XCTest

/// Fault 2: an app that fails half the time: 30% 500s, 10% hangs past the request timeout, 5%
/// connections dropped mid-answer, 5% 429 with Retry-After. Runs follow each other as a timer
/// would start them. Every job ends completed or failed, retry_count is exactly the retries
/// granted (failed attempts the app saw that sent the job back to pending: all of them for a
/// completed job, all but the last for a failed one), and no attempt comes before the backoff
/// its run_at asked for.
final class FaultSuiteChaosAppTests: IntegrationTestCase {
    func testChaosApp() throws {
        let perType = 100
        let app = try startApp(arguments: ["--chaos", "500:0.3,hang:0.1,drop:0.05,429:0.05", "--chaos-hang-seconds", "10",
                                           "--seed", "11"])
        for type in Routes.defaults.keys.sorted() {
            try db.insertJobs(type, count: perType, payload: #"{"projectId":"p","imageType":"main"}"#)
        }
        let total = perType * Routes.defaults.count
        let base = 0.2, cap = 2.0, jitter = RetryPolicy.standard.jitter
        let started = Date()
        let logs = try runUntilSettled(["run", "--concurrency", "16", "--request-timeout", "1s", "--lease", "3s",
                                        "--backoff-base", "200ms", "--backoff-max", "2s", "--log-format", "json"],
                                       environment: environment(app: app), timeout: 120)
        let seconds = Date().timeIntervalSince(started)

        let census = try Census(db)
        XCTAssertEqual(census.completed + census.failed, total, "\(census)")
        XCTAssertEqual(census.processing, 0)

        // The delay each failed attempt was given, from the runs' own log lines (id/attempt -> seconds).
        var retryIn: [String: Double] = [:]
        for line in logs.flatMap(Fault.logLines) where Fault.field(line, "outcome") == "retry" {
            if let id = Fault.field(line, "id"), let attempt = Fault.field(line, "attempt"),
               let delay = Fault.field(line, "retry_in").flatMap({ try? DurationText.seconds($0) }) {
                retryIn["\(id)/\(attempt)"] = delay
            }
        }

        let requests = Fault.byJob(try app.requests())
        let rows = try db.jobs()
        var kinds: [String: Int] = [:]
        var exact = 0, early: [String] = []
        for row in rows {
            let sent = requests[row.id] ?? []
            let failedAttempts = sent.filter { $0.action != "ok" }
            for request in sent { kinds[request.action, default: 0] += 1 }
            let granted = row.status == "failed" ? failedAttempts.count - 1 : failedAttempts.count
            XCTAssertEqual(row.retryCount, granted, "\(row.id): retry_count vs retries granted after the failed attempts the app saw")
            if row.retryCount == granted { exact += 1 }
            XCTAssertEqual(sent.map(\.attempt), sent.indices.map { $0 + 1 }, "\(row.id): attempts numbered 1, 2, ...")
            if row.status == "completed" {
                XCTAssertEqual(sent.last?.action, "ok", row.id)
            } else {
                XCTAssertEqual(row.status, "failed", row.id)
                XCTAssertEqual(failedAttempts.count, 4, "\(row.id): failed only after max_retries + 1 attempts")
                XCTAssertEqual(row.retryCount, 3, "\(row.id): a job that ends failed keeps the retries it was granted")
                XCTAssertNotNil(row.errorMessage)
            }
            // Backoff: attempt n + 1 arrives no earlier than attempt n plus the delay it was given
            // (run_at = the database's now() when the outcome was written, after the answer, + delay).
            for (previous, next) in zip(sent, sent.dropFirst()) {
                let attempt = previous.attempt ?? 0
                let floor = previous.action == "status:429"
                    ? 1.0  // the chaos 429 says Retry-After: 1
                    : min(cap, base * pow(2, Double(attempt - 1))) * (1 - jitter)
                guard let logged = retryIn["\(row.id)/\(attempt)"] else {
                    XCTFail("\(row.id) attempt \(attempt): no retry line in the runs' logs")
                    continue
                }
                // The log rounds the delay (to 1ms below 1s, to 0.1s above): allow that much.
                let given = logged - (logged < 1 ? 0.0005 : 0.05)
                XCTAssertGreaterThanOrEqual(given, floor - 0.05, "\(row.id) attempt \(attempt): delay below the policy")
                if next.time - previous.time < given { early.append("\(row.id)/\(attempt)") }
            }
        }
        XCTAssertEqual(early, [], "attempts that came before their run_at")
        let failures = kinds.filter { $0.key != "ok" }.values.reduce(0, +)
        XCTAssertGreaterThan(kinds["hang", default: 0], 0)
        XCTAssertGreaterThan(kinds["drop", default: 0], 0)
        XCTAssertGreaterThan(kinds["status:429", default: 0], 0)
        Fault.figure("chaos: \(total) jobs, \(kinds.values.reduce(0, +)) requests (\(kinds["status:500", default: 0]) 500s, "
                     + "\(kinds["hang", default: 0]) hangs, \(kinds["drop", default: 0]) drops, \(kinds["status:429", default: 0]) 429s), "
                     + "\(census.completed) completed, \(census.failed) failed, \(census.processing) left in processing, "
                     + "retry_count = retries granted for \(exact)/\(total) (\(failures) in all), "
                     + "\(early.count) attempts before their run_at, \(logs.count) runs, \(Fault.seconds(seconds))")
    }
}
