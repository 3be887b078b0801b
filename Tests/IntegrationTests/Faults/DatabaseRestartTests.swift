import Foundation
import PostgresClient
@testable import ProcessJobsCore
import XCTest

/// Fault 3: PostgreSQL restarts (`pg_ctl restart -m fast`) while requests are in flight. The run
/// ends with exit 75 within seconds; outcomes it could not write are not dropped silently: the
/// jobs stay leased, the lease brings them back, and later runs finish the work.
final class FaultSuiteDatabaseRestartTests: IntegrationTestCase {
    func testDatabaseRestartMidRun() throws {
        guard PostgresServer.shared.restartableDirectory != nil else {
            throw XCTSkip("restarting PostgreSQL needs a server this run owns: unset TEST_DATABASE_URL, or run scripts/test (it exports TEST_DATABASE_DIR)")
        }
        let total = 300
        let app = try startApp(arguments: ["--delay-ms", "200-400"])
        try db.insertJobs("generate-image", count: total)
        let arguments = ["run", "--concurrency", "8", "--request-timeout", "2s", "--lease", "4s",
                         "--backoff-base", "200ms", "--backoff-max", "1s", "--log-format", "json"]
        let runner = try startBinary(arguments, environment: environment(app: app))
        let holder = Fault.holder(runner)
        awaitCondition("some jobs done and requests in flight", timeout: 30) {
            (try? db.count(where: "status = 'completed'")) ?? 0 >= 20
                && ((try? app.requests().filter { $0.status == nil }.count) ?? 0) >= 4
        }
        let inFlight = try app.requests().filter { $0.status == nil }.count
        let restartBegan = Date()
        try PostgresServer.shared.restart()
        let result = runner.result(timeout: 30)
        let exitAfter = Date().timeIntervalSince(restartBegan)
        XCTAssertEqual(result.status, 75, result.stderr.suffix(2000).description)
        XCTAssertLessThan(exitAfter, 10, "exit 75 within seconds of the restart")
        let message = result.stderr.split(separator: "\n").last.map(String.init) ?? ""
        XCTAssertTrue(message.hasPrefix("process-jobs: database unavailable"), message)

        db = try Connection(conninfo: databaseURL)  // the restart cut ours too
        // Outcomes the run could not write: its log names them, and each row is still leased to it.
        let held = try db.retryCounts(where: "status = 'processing' AND locked_by = $1", [holder])
        let named = Fault.logLines(result.stderr).first { Fault.field($0, "msg")?.contains("not recorded") == true }
            .flatMap { Fault.field($0, "jobs") }?.split(separator: ",").map(String.init) ?? []
        XCTAssertFalse(named.isEmpty, "the run says which outcomes it could not write")
        // (A tick the server committed just as the restart cut the connection is written after all.)
        let written = Set(try db.retryCounts(where: "status = 'completed'").keys)
        XCTAssertEqual(Set(named).subtracting(held.keys).subtracting(written), [], "every unwritten outcome's job is still leased")
        XCTAssertEqual(try db.retryCounts(where: "status = 'processing' AND locked_by <> $1", [holder]).count, 0)

        let logs = try runUntilSettled(arguments, environment: environment(app: app), timeout: 60)
        let census = try Census(db)
        XCTAssertEqual(census.completed, total, "\(census)")
        let retryCounts = try db.retryCounts()
        for (id, retryCount) in retryCounts {
            XCTAssertEqual(retryCount, held[id] == nil ? 0 : 1, "\(id): only the jobs leased at the restart lost an attempt")
        }
        // Sent twice only if the restart caught the request in flight (leased to the dead run).
        let requests = Fault.byJob(try app.requests())
        XCTAssertEqual(requests.count, total, "every job POSTed")
        let duplicated = requests.filter { $0.value.count > 1 }
        XCTAssertEqual(Set(duplicated.keys).subtracting(held.keys), [])
        XCTAssertTrue(duplicated.values.allSatisfy { $0.count == 2 })
        Fault.figure("db-restart: \(total) jobs, pg_ctl restart -m fast with \(inFlight) requests in flight, "
                     + "exit 75 \(Fault.seconds(exitAfter)) after the restart began, \(named.count) unwritten outcomes named "
                     + "and left leased (\(held.count) jobs leased in all), rescued as failed attempts; "
                     + "\(census.completed)/\(total) completed after \(logs.count) more runs, "
                     + "\(duplicated.count) duplicate requests (all among the \(held.count))")
    }
}
