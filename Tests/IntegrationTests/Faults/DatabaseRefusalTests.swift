import Foundation
import PostgresClient
@testable import ProcessJobsCore
import XCTest

/// Fault 4: the database is down before the start, refuses the password, has no such database,
/// or has the table without the migration (or no table at all). Each ends at once with 75 (wait:
/// the next run will do) or 78 (a person must act), in one line that names the cause and the
/// fix, and touches no job. (CommandLineTests and MigrationTests check the exit codes one by
/// one; this checks the line the operator reads, for all of them.)
final class FaultSuiteDatabaseRefusalTests: IntegrationTestCase {
    private struct Case {
        let name: String
        let url: String
        let status: Int32
        /// Words naming the cause, then words saying what to do.
        let cause: String
        let fix: String
    }

    func testDatabaseRefusalsAreOneLineWithTheFix() throws {
        let app = try startApp()
        try db.insertJob("generate-aplus", payload: #"{"projectId":"p"}"#)
        let unmigrated = try PostgresServer.shared.createDatabase()
        let empty = try PostgresServer.shared.createDatabase()
        defer {
            PostgresServer.shared.dropDatabase(unmigrated.name)
            PostgresServer.shared.dropDatabase(empty.name)
        }
        let original = try Connection(conninfo: unmigrated.url)
        try original.execute(script: Fixtures.originalSchema)
        try original.insertJob("generate-aplus", payload: #"{"projectId":"p"}"#)

        var cases = [
            Case(name: "down", url: "postgresql://postgres@127.0.0.1:\(Fault.freePort())/x?connect_timeout=2", status: 75,
                 cause: "Connection refused", fix: "the next run will try again"),
            Case(name: "wrong database", url: PostgresServer.url(databaseURL, database: "no_such_database"), status: 78,
                 cause: #"database "no_such_database" does not exist"#, fix: "check DATABASE_URL"),
            Case(name: "not migrated", url: unmigrated.url, status: 78,
                 cause: "not migrated", fix: "run `process-jobs migrate`"),
            Case(name: "no table", url: empty.url, status: 78,
                 cause: #"relation "job_queue" does not exist"#, fix: "run `process-jobs migrate`"),
        ]
        let password = URLComponents(string: databaseURL)?.password ?? ""
        if !password.isEmpty {
            cases.insert(Case(name: "wrong password", url: databaseURL.replacingOccurrences(of: ":\(password)@", with: ":Not-The-Password@"),
                              status: 78, cause: "password authentication failed", fix: "check DATABASE_URL"), at: 1)
        }
        var summary: [String] = []
        for check in cases {
            let result = try runBinary(["run"], environment: ["DATABASE_URL": check.url, "SUPABASE_SERVICE_ROLE_KEY": "test-token",
                                                              "APP_URL": app.url], timeout: 30)
            let lines = result.stderr.split(separator: "\n")
            XCTAssertEqual(result.status, check.status, "\(check.name): \(result.stderr)")
            XCTAssertEqual(lines.count, 1, "\(check.name): one line, not \(result.stderr)")
            XCTAssertTrue(result.stderr.hasPrefix("process-jobs: "), check.name)
            XCTAssertTrue(result.stderr.contains(check.cause), "\(check.name) names the cause: \(result.stderr)")
            XCTAssertTrue(result.stderr.contains(check.fix), "\(check.name) says what to do: \(result.stderr)")
            XCTAssertFalse(result.stderr.contains("Not-The-Password") || (!password.isEmpty && result.stderr.contains(password)),
                           "\(check.name): no password in the message")
            summary.append("\(check.name) -> \(result.status)")
        }
        XCTAssertEqual(try app.requests().count, 0, "nothing was sent")
        XCTAssertEqual(try db.count(where: "status = 'pending' AND retry_count = 0 AND processed_at IS NULL"), 1)
        XCTAssertEqual(try original.count(where: "status = 'pending' AND retry_count = 0 AND processed_at IS NULL"), 1)
        Fault.figure("db-refusals: \(summary.joined(separator: ", ")); \(cases.count)/\(cases.count) one-line messages "
                     + "naming the cause and the fix, 0 jobs touched, 0 requests sent")
    }
}
