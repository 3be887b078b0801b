import Foundation
import PostgresClient
@testable import ProcessJobsCore
import XCTest

/// Fault 1: runners die by SIGKILL at random moments, again and again. No job may be lost or
/// stay stuck, and a job may be sent twice only when a runner died while its request was in
/// flight (sent, outcome not yet written).
final class FaultSuiteKillStormTests: IntegrationTestCase {
    func testKillStorm() throws {
        let perType = 1000, slots = 4, minimumKills = 30, maximumKills = 60
        let app = try startApp(arguments: ["--delay-ms", "10-50"])
        for type in Routes.defaults.keys.sorted() {
            try db.insertJobs(type, count: perType, payload: #"{"projectId":"p","imageType":"main"}"#)
        }
        let total = perType * Routes.defaults.count
        // A kill charges every job its runner held, sent or not (a lease expiry is a failed
        // attempt). This storm is far denser than life, so each job gets room for ten charges:
        // the point is that none is lost, not how many charges the default allows.
        try db.query("UPDATE job_queue SET max_retries = 10")
        // Leases of 2s: a dead runner's jobs come back within the test.
        let arguments = ["run", "--concurrency", "4", "--batch-size", "8", "--request-timeout", "1s", "--lease", "2s",
                         // A dead runner's jobs wait a backoff before they are sent again: short here.
                         "--backoff-base", "100ms", "--backoff-max", "1s", "--log-format", "json"]

        // Per kill: the jobs its runner held at that moment, with their retry_count.
        var kills: [[String: Int]] = []
        let storm = try killStorm(slots: slots, maximumKills: maximumKills, seed: 2026, arguments: arguments,
                                  environment: environment(app: app)) { victim in
            // Its rows now stay as they are until the lease expires.
            kills.append(try db.retryCounts(where: "status = 'processing' AND locked_by = $1", [Fault.holder(victim)]))
        }
        let exits = storm.exits, seconds = storm.seconds

        XCTAssertGreaterThanOrEqual(kills.count, minimumKills, "the work was done before enough kills: make it slower")
        XCTAssertEqual(exits.filter { $0 != 0 }, [], "every runner that was not killed exits 0")
        let census = try Census(db)
        XCTAssertEqual(census.completed, total, "\(census)")
        XCTAssertEqual(try db.count(where: "status = 'completed' AND (completed_at IS NULL OR locked_by IS NOT NULL OR result IS NULL)"), 0)

        // Requests: every job at least once; more only where a kill caught its request in flight.
        let requests = Fault.byJob(try app.requests())
        let retryCounts = try db.retryCounts()
        var inFlightAtKills = 0
        var allowance: [String: Int] = [:]
        for held in kills {
            for (id, retryCount) in held where requests[id]?.contains(where: { $0.attempt == retryCount + 1 }) == true {
                inFlightAtKills += 1
                allowance[id, default: 0] += 1
            }
        }
        var duplicates = 0, unexplained: [String] = [], neverSent = 0
        for (id, retryCount) in retryCounts {
            let sent = requests[id] ?? []
            if sent.isEmpty { neverSent += 1; continue }
            duplicates += sent.count - 1
            if sent.count - 1 > allowance[id, default: 0] { unexplained.append(id) }
            // The answer that counted was to the attempt the row says.
            XCTAssertEqual(sent.last { $0.status == 200 }?.attempt, retryCount + 1, id)
        }
        XCTAssertEqual(neverSent, 0, "every job was POSTed")
        XCTAssertEqual(unexplained, [], "duplicates only where a kill caught the request in flight")
        XCTAssertLessThanOrEqual(duplicates, inFlightAtKills)
        let lost = total - census.completed - census.stuck
        Fault.figure("kill-storm: \(total) jobs, \(slots) runners, \(kills.count) kills, \(lost) lost, \(census.stuck) stuck, "
                     + "\(duplicates) duplicate requests (<= \(inFlightAtKills) in flight at kill), "
                     + "max retry_count \(retryCounts.values.max() ?? 0), \(Fault.seconds(seconds))")
    }
}
