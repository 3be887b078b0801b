import Foundation
import PostgresClient
@testable import ProcessJobsCore
import XCTest

/// Fault 5: the app goes down mid-run. Requests it had taken are failed attempts (it may have
/// acted on them); after a few refused connections the circuit opens, everything not sent goes
/// back uncharged, and the run exits 69. Once the app is back, the next run completes everything.
final class FaultSuiteAppDownTests: IntegrationTestCase {
    func testAppDownMidRun() throws {
        let total = 400
        let app = try startApp(arguments: ["--delay-ms", "100-300"])
        try db.insertJobs("generate-image", count: total)
        let arguments = ["run", "--concurrency", "8", "--request-timeout", "2s", "--lease", "5s", "--backoff-base", "1s",
                         "--log-format", "json"]
        let runner = try startBinary(arguments, environment: environment(app: app))
        awaitCondition("some jobs done", timeout: 30) { (try? db.count(where: "status = 'completed'")) ?? 0 >= 50 }
        // The app stalls before it dies (every new request sleeps), so that the requests it holds
        // at its death are known: once the earlier ones are answered, nothing moves until the
        // runner's 2s timeout.
        try app.setRules(#"[{"action": {"delay_ms": 60000}}]"#)
        awaitCondition("the requests taken before the stall answered", timeout: 10) {
            (try? app.requests().allSatisfy { $0.fault != nil || $0.status != nil }) ?? false
        }
        let takenBeforeDeath = Set(try app.requests().filter { $0.status == nil }.compactMap(\.jobId))
        let completedBefore = try db.count(where: "status = 'completed'")
        let stopped = Date()
        app.stop()
        let result = runner.result(timeout: 30)
        let exitAfter = Date().timeIntervalSince(stopped)
        XCTAssertEqual(result.status, 69, result.stderr.suffix(2000).description)
        XCTAssertLessThan(exitAfter, 10)
        let message = result.stderr.split(separator: "\n").last.map(String.init) ?? ""
        XCTAssertTrue(message.contains("unreachable") && message.contains("released uncharged"), message)

        // Nothing left leased; charged exactly the requests the dying app had taken.
        XCTAssertEqual(try db.count(where: "status = 'processing' OR locked_by IS NOT NULL"), 0)
        let charged = try db.retryCounts(where: "retry_count > 0")
        XCTAssertTrue(charged.values.allSatisfy { $0 == 1 })
        XCTAssertEqual(Set(charged.keys), takenBeforeDeath, "exactly the requests the app had taken are charged")
        let uncharged = try db.count(where: "status = 'pending' AND retry_count = 0")
        XCTAssertEqual(try db.count(where: "status = 'completed'") + charged.count + uncharged, total)
        let notDone = Set(try db.retryCounts(where: "status <> 'completed'").keys)
        // The circuit: each refused connection is a release with a request time; then the rest without one.
        let released = Fault.logLines(result.stderr).filter { Fault.field($0, "outcome") == "released" }
        let refused = released.filter { Fault.field($0, "ms") != "-" }.count
        XCTAssertGreaterThanOrEqual(refused, RunSettings().circuitThreshold)
        // Each request that ends before the circuit opens frees a slot that is filled again, and a
        // request the dying app had taken resets the count (it was sent): a few rounds at most.
        XCTAssertLessThanOrEqual(refused, 3 * 8, "the circuit opened within a few rounds of requests")

        // The app comes back on the same port; once the uncharged delay has passed, one run finishes.
        let back = try startApp(arguments: ["--port", String(app.port)])
        awaitCondition("every job due again", timeout: 30) { (try? db.count(where: "run_at > now()")) == 0 }
        let next = try runBinary(arguments, environment: environment(app: back), timeout: 60)
        XCTAssertEqual(next.status, 0, next.stderr.suffix(2000).description)
        let census = try Census(db)
        XCTAssertEqual(census.completed, total, "\(census)")
        let resent = Fault.byJob(try back.requests())
        XCTAssertEqual(Set(resent.keys), notDone, "the next run sent exactly the jobs not done")
        XCTAssertTrue(resent.values.allSatisfy { $0.count == 1 })
        Fault.figure("app-down: \(total) jobs, app stopped after \(completedBefore) completed with \(takenBeforeDeath.count) requests taken, "
                     + "circuit opened after \(RunSettings().circuitThreshold) refused connections (\(refused) in all), "
                     + "exit 69 \(Fault.seconds(exitAfter)) later; \(charged.count) charged one attempt, \(uncharged) released uncharged, "
                     + "0 left leased; app back: next run \(census.completed)/\(total) completed")
    }
}
