import Foundation
import PostgresClient
@testable import ProcessJobsCore
import XCTest

/// Fault 13: --on-failure under SIGKILLs. Four runners, killed at random moments, work through
/// jobs that always fail: every job ends failed (retries exhausted, or an expired lease with none
/// left) with exactly one failure job, and every failure job is delivered.
final class FaultSuiteFailureKillStormTests: IntegrationTestCase {
    func testKillStormOverFailingJobs() throws {
        let total = 500, slots = 4, minimumKills = 10, maximumKills = 40
        let app = try startApp(arguments: ["--delay-ms", "10-50"])
        try app.setRules(#"[{"match": {"jobType": "generate-image"}, "action": {"status": 500, "delay_ms": 20}}]"#)
        try db.insertJobs("generate-image", count: total)
        try db.query("UPDATE job_queue SET max_retries = 2")
        let arguments = ["run", "--on-failure", "job-failed", "--concurrency", "4", "--batch-size", "8",
                         "--request-timeout", "1s", "--lease", "2s", "--backoff-base", "100ms", "--backoff-max", "1s",
                         "--log-format", "json"]

        let storm = try killStorm(slots: slots, maximumKills: maximumKills, seed: 14, arguments: arguments,
                                  environment: environment(app: app))
        let kills = storm.kills, exits = storm.exits, seconds = storm.seconds

        XCTAssertGreaterThanOrEqual(kills, minimumKills, "the work was done before enough kills: make it slower")
        XCTAssertEqual(exits.filter { $0 != 0 }, [], "every runner that was not killed exits 0")
        let census = try Census(db)
        XCTAssertEqual(try db.count(where: "job_type = 'generate-image' AND status = 'failed'"), total, "\(census)")
        XCTAssertEqual(try db.count(where: "job_type = 'job-failed'"), total, "exactly one failure job per failed job")
        XCTAssertEqual(try db.count(where: """
            job_type = 'generate-image' AND (SELECT count(*) FROM job_queue f
                                             WHERE f.job_type = 'job-failed' AND f.payload->>'failedJobId' = job_queue.id::text) <> 1
            """), 0, "each failed job has its own")
        XCTAssertEqual(try db.count(where: "job_type = 'job-failed' AND status = 'completed'"), total, "every failure job delivered")
        let byLease = try db.count(where: "job_type = 'generate-image' AND error_message LIKE 'lease expired:%'")
        Fault.figure("failure-kill-storm: \(total) always-failing jobs, \(slots) runners, \(kills) kills, "
                     + "\(total) failed (\(byLease) by an expired lease), \(try db.count(where: "job_type = 'job-failed'")) failure jobs, "
                     + "all delivered, \(Fault.seconds(seconds))")
    }
}
