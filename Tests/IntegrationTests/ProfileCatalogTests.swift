import Foundation
import PostgresClient
@testable import ProcessJobsCore
import XCTest

/// A profile is checked against the real table's catalog before anything runs: the deployed
/// profiles fit the tables as their apps create them, and a wrong name or word is named.
final class ProfileCatalogTests: IntegrationTestCase {
    private func profile(_ name: String) throws -> TableProfile {
        let url = Paths.repository.appendingPathComponent("deploy/profiles/\(name)")
        return try TableProfile.decode(Array(try Data(contentsOf: url)), source: name)
    }

    private func problem(_ profile: TableProfile) throws -> String? {
        try ProfileCatalog.read(profile, connection: db!).problem(with: profile)
    }

    func testDeployedProfilesFitTheSeedTables() throws {
        try db.execute(script: SeedTables.documentJobs + SeedTables.agentJobs + SeedTables.operations)
        XCTAssertNil(try problem(profile("document_jobs.json")))
        XCTAssertNil(try problem(profile("jobs.json")))
        XCTAssertNil(try problem(profile("operations.json")))
        let catalog = try ProfileCatalog.read(profile("jobs.json"), connection: db!)
        XCTAssertEqual(catalog.columns.first { $0.name == "status" }?.enumLabels,
                       ["pending", "running", "completed", "failed", "cancelled"])
    }

    func testMisfitsAreNamed() throws {
        try db.execute(script: SeedTables.agentJobs + SeedTables.operations)
        var jobs = try profile("jobs.json")
        jobs.status.processing = "processing"
        XCTAssertEqual(try problem(jobs),
                       "table profile: status word \"processing\" is not a label of job_status (labels: pending, running, completed, failed, cancelled)")
        jobs = try profile("jobs.json")
        jobs.error = "error"
        XCTAssertEqual(try problem(jobs), "table profile: jobs has no column error")
        jobs = try profile("jobs.json")
        jobs.table = "public.job"
        XCTAssertEqual(try problem(jobs), "table profile: table public.job does not exist (or this role cannot see it)")
        var operations = try profile("operations.json")
        operations.createdAt.epochMillis = false
        XCTAssertTrue(try problem(operations)?.contains("epochMillis") == true)
        operations = try profile("operations.json")
        operations.payload = .column("message")
        XCTAssertEqual(try problem(operations),
                       "table profile: payload column message is text; it must be jsonb (or list columns: {\"columns\": [...]})")
    }

    func testSchemaQualifiedAndQuotedNames() throws {
        try db.execute(script: """
            CREATE SCHEMA "Work Queue";
            CREATE TABLE "Work Queue"."Jobs" ("Id" uuid PRIMARY KEY, "State" text, body jsonb, made timestamptz);
            """)
        let quoted = TableProfile(
            table: "Work Queue.Jobs", id: "Id", jobType: .fixed("t"), payload: .column("body"),
            status: .init(column: "State", pending: "p", processing: "r", completed: "c", failed: "f"),
            error: nil, result: nil, resultColumns: [:], user: nil, createdAt: .init("made"),
            updatedAt: nil, startedAt: nil, completedAt: nil)
        XCTAssertNil(try problem(quoted))
    }
}
