import Foundation
@testable import ProcessJobsCore
import XCTest

/// A runner and the schema `migrate` recorded: an older schema (the flow-control tables missing
/// or not yet recorded) stops the run before it claims anything; a newer one is named in a
/// warning and the run goes on (a rolling upgrade).
final class SchemaVersionRunTests: IntegrationTestCase {
    func testOlderSchemaStopsTheRunWithMigrateAdvice() throws {
        let app = try startApp()
        try db.insertJobs("generate-image", count: 2)
        try db.query("UPDATE process_jobs.schema_version SET version = 2")
        let result = try runBinary(["run"], environment: environment(app: app))
        XCTAssertEqual(result.status, 78, result.stderr)
        XCTAssertTrue(result.stderr.contains("the database schema is version 2, this runner needs \(SchemaVersion.current): run `process-jobs migrate`"),
                      result.stderr)
        XCTAssertEqual(try db.count(where: "status = 'pending' AND locked_by IS NULL"), 2, "nothing claimed")
        XCTAssertTrue(try app.requests().isEmpty)
    }

    func testSchemaWithoutVersionTableAsksForMigrate() throws {
        let app = try startApp()
        try db.insertJobs("generate-image", count: 1)
        try db.query("DROP TABLE process_jobs.schema_version")
        let result = try runBinary(["run"], environment: environment(app: app))
        XCTAssertEqual(result.status, 78, result.stderr)
        XCTAssertTrue(result.stderr.contains("run `process-jobs migrate`"), result.stderr)
    }

    func testNewerSchemaWarnsAndRuns() throws {
        let app = try startApp()
        try db.insertJobs("generate-image", count: 2)
        try db.query("UPDATE process_jobs.schema_version SET version = \(SchemaVersion.current + 1)")
        let result = try runBinary(["run"], environment: environment(app: app))
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stderr.contains("newer than this runner knows"), result.stderr)
        XCTAssertEqual(try db.count(where: "status = 'completed'"), 2)
    }
}
