import Foundation
import PostgresClient
@testable import ProcessJobsCore
import XCTest

/// Repeat mode (--every) gives each run a working connection: a server that closes idle
/// sessions, or a restart between runs, does not end the process.
final class RepeatReconnectTests: IntegrationTestCase {
    func testIdleSessionTimeoutBetweenRunsDoesNotEndRepeatMode() throws {
        try db.query("ALTER DATABASE \(databaseName) SET idle_session_timeout = '300ms'")
        let app = try startApp()
        try db.insertJobs("generate-image", count: 3)
        let runner = try startBinary(["run", "--every", "1s", "--for", "3.5s", "--log-format", "json"], environment: environment(app: app))
        awaitCondition("first run done") { (try? db.count(where: "status = 'completed'")) ?? 0 == 3 || !runner.isRunning }
        // The server closes the run's session while it sleeps; the next run must still work.
        try db.insertJobs("generate-image", count: 3)
        let result = runner.result(timeout: 30)
        XCTAssertEqual(result.status, 0, result.stderr.suffix(1500).description)
        XCTAssertEqual(try db.count(where: "status = 'completed'"), 6)
    }

    func testDatabaseRestartBetweenRunsDoesNotEndRepeatMode() throws {
        guard PostgresServer.shared.restartableDirectory != nil else {
            throw XCTSkip("restarting PostgreSQL needs a server this run owns")
        }
        let app = try startApp()
        try db.insertJobs("generate-image", count: 3)
        let runner = try startBinary(["run", "--every", "2s", "--for", "5s", "--log-format", "json"], environment: environment(app: app))
        awaitCondition("first run done") { Fault.summary(runner.stderr) != nil || !runner.isRunning }
        try PostgresServer.shared.restart()
        db = try Connection(conninfo: databaseURL)
        try db.insertJobs("generate-image", count: 3)
        let result = runner.result(timeout: 30)
        XCTAssertEqual(result.status, 0, result.stderr.suffix(1500).description)
        XCTAssertEqual(try db.count(where: "status = 'completed'"), 6)
    }
}
