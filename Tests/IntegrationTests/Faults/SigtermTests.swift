import Foundation
import PostgresClient
@testable import ProcessJobsCore
import XCTest

/// Fault 6: SIGTERM mid-run (a deploy, a reboot, systemd stopping the unit). Requests in flight
/// finish and are recorded, jobs claimed but not sent go back untouched, the run exits 0 within
/// the grace period. (SignalTests checks the second signal and the end of the grace period.)
final class FaultSuiteSigtermTests: IntegrationTestCase {
    func testSigtermMidRun() throws {
        let total = 200, concurrency = 8, grace = 5.0
        let app = try startApp(arguments: ["--delay-ms", "500-1000"])
        try db.insertJobs("generate-image", count: total)
        let runner = try startBinary(["run", "--concurrency", String(concurrency), "--batch-size", "16",
                                      "--grace", "\(Int(grace))s", "--log-format", "json"],
                                     environment: environment(app: app))
        // A moment with a full round in flight and more jobs claimed, waiting for a free slot.
        awaitCondition("requests in flight and claimed jobs waiting, after some were done", timeout: 30) {
            (try? db.count(where: "status = 'completed'")) ?? 0 >= 16
                && ((try? db.count(where: "status = 'processing'")) ?? 0) > concurrency
                && ((try? app.requests().filter { $0.status == nil }.count) ?? 0) == concurrency
        }
        let doneBefore = try db.count(where: "status = 'completed'")
        let signalled = Date()
        runner.signal(SIGTERM)
        let result = runner.result(timeout: 30)
        let exitAfter = Date().timeIntervalSince(signalled)
        XCTAssertEqual(result.status, 0, result.stderr.suffix(2000).description)
        XCTAssertLessThan(exitAfter, grace, "within the grace period")
        let summary = try XCTUnwrap(Fault.summary(result.stderr))
        XCTAssertEqual(Fault.field(summary, "stop"), "signal")

        // Every request the app received was answered and recorded; nothing was cut.
        let requests = try app.requests()
        XCTAssertTrue(requests.allSatisfy { $0.status == 200 })
        let sent = Set(requests.compactMap(\.jobId))
        let completed = Set(try db.retryCounts(where: "status = 'completed'").keys)
        XCTAssertEqual(sent, completed, "exactly the jobs sent are completed")
        let finished = completed.count - doneBefore
        // (One more if an answer slipped in between the count and the signal.)
        XCTAssertTrue((concurrency...concurrency + 1).contains(finished), "the round in flight finished: \(finished)")
        XCTAssertEqual(requests.filter { $0.time > signalled.timeIntervalSince1970 + 0.05 }.count, 0, "nothing sent after the signal")
        // Everything else is as it was before the run: pending, uncharged, never processed, unleased.
        let untouched = try db.count(where: "status = 'pending' AND retry_count = 0 AND processed_at IS NULL AND locked_by IS NULL AND locked_until IS NULL AND run_at <= now()")
        XCTAssertEqual(untouched, total - completed.count)
        XCTAssertEqual(try db.count(where: "status = 'processing'"), 0)
        let released = Int(Fault.field(summary, "released") ?? "") ?? -1
        XCTAssertGreaterThan(released, 0, "claimed jobs not yet sent were given back")
        XCTAssertFalse(result.stderr.contains("request cut"))
        Fault.figure("sigterm: \(total) jobs, SIGTERM with \(concurrency) requests in flight and \(released) claimed but unsent; "
                     + "exit 0 \(Fault.seconds(exitAfter)) later (grace \(Int(grace))s); \(finished)/\(concurrency) in-flight finished "
                     + "and recorded, 0 cut, \(released) released untouched, \(untouched) pending untouched, 0 left leased")
    }
}
