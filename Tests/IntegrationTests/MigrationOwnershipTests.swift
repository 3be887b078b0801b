import Foundation
import PostgresClient
@testable import ProcessJobsCore
import XCTest

/// `migrate` as the table's owner when another role owns the Edge Function's functions.
final class MigrationOwnershipTests: IntegrationTestCase {
    override var migrated: Bool { false }
    private var owner = ""

    override func tearDown() {
        super.tearDown()  // drops the database first: the role owns objects in it
        if !owner.isEmpty, let admin = try? Connection(conninfo: PostgresServer.shared.adminURL) {
            _ = try? admin.query("DROP ROLE IF EXISTS \(owner)")
        }
    }

    func testFunctionsAnotherRoleOwnsAreLeftWithAWarning() throws {
        owner = "pj_owner_\(String(UUID().uuidString.prefix(8)).lowercased())"
        let password = UUID().uuidString
        let admin = try Connection(conninfo: PostgresServer.shared.adminURL)
        try admin.query("CREATE ROLE \(owner) LOGIN PASSWORD '\(password)'")
        try admin.query("ALTER DATABASE \(databaseName) OWNER TO \(owner)")
        try db.query("ALTER TABLE job_queue OWNER TO \(owner)")
        var components = try XCTUnwrap(URLComponents(string: databaseURL))
        components.user = owner
        components.password = password

        let result = try runBinary(["migrate"], environment: ["DATABASE_URL": try XCTUnwrap(components.string)])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stderr.contains("schema migrated"), result.stderr)
        XCTAssertEqual(result.stderr.components(separatedBy: "function left as it is").count - 1, 4, result.stderr)
        XCTAssertTrue(result.stderr.contains("get_next_job()"), result.stderr)
        XCTAssertEqual(try Migration.missing(on: db), [])
        XCTAssertEqual(try Migration.outdated(on: db).count, 4, "the superuser's functions are untouched")

        let again = try runBinary(["migrate"], environment: ["DATABASE_URL": try XCTUnwrap(components.string)])
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertTrue(again.stderr.contains("already up to date"), again.stderr)
    }
}
