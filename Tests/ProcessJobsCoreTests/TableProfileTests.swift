@testable import ProcessJobsCore
import XCTest

final class TableProfileTests: XCTestCase {
    private func profile(_ json: String) throws(ConfigError) -> TableProfile {
        try TableProfile.decode(Array(json.utf8), source: "test.json")
    }

    private func error(_ json: String) -> String? {
        do {
            _ = try profile(json)
            return nil
        } catch {
            return error.description
        }
    }

    private static let deployed = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("deploy/profiles")

    private func deployed(_ name: String) throws -> TableProfile {
        let bytes = try Data(contentsOf: Self.deployed.appendingPathComponent(name))
        return try TableProfile.decode(Array(bytes), source: name)
    }

    func testJobQueueProfileIsTheBuiltInOne() throws {
        XCTAssertEqual(try deployed("job_queue.json"), .jobQueue)
    }

    func testDocumentJobsProfile() throws {
        let document = try deployed("document_jobs.json")
        XCTAssertEqual(document.table, "document_jobs")
        XCTAssertEqual(document.jobType, .fixed("document"))
        XCTAssertEqual(document.payload, .columns(["prompt", "project_id"]))
        XCTAssertEqual(document.resultColumns, ["html": "html"])
        XCTAssertNil(document.user)
        XCTAssertNil(document.startedAt)
        XCTAssertEqual(document.columns, ["job_id", "status", "prompt", "project_id", "error", "result", "html",
                                          "created_at", "updated_at"])
    }

    func testAgentJobsProfileUsesTheEnumsWords() throws {
        let jobs = try deployed("jobs.json")
        XCTAssertEqual(jobs.jobType, .column("agent_identifier"))
        XCTAssertEqual(jobs.status.processing, "running")
        XCTAssertEqual(jobs.user, "user_id")
        XCTAssertEqual(jobs.startedAt, .init("started_at"))
    }

    func testOperationsProfileHasEpochMillisTimestamps() throws {
        let operations = try deployed("operations.json")
        XCTAssertEqual(operations.createdAt, .init("created_at", epochMillis: true))
        XCTAssertEqual(operations.updatedAt, .init("updated_at", epochMillis: true))
        XCTAssertEqual(operations.status.completed, "complete")
        XCTAssertEqual(operations.status.failed, "error")
    }

    private let minimal = """
        {"table": "t", "id": "id", "jobType": {"fixed": "x"}, "payload": {"column": "p"},
         "status": {"column": "s", "pending": "a", "processing": "b", "completed": "c", "failed": "d"},
         "createdAt": "created_at"}
        """

    func testOptionalPartsMayBeLeftOut() throws {
        let plain = try profile(minimal)
        XCTAssertNil(plain.error)
        XCTAssertNil(plain.result)
        XCTAssertEqual(plain.resultColumns, [:])
        XCTAssertNil(plain.updatedAt)
    }

    func testMisspeltKeysAreNamed() {
        let misspelt = minimal.replacingOccurrences(of: "\"createdAt\"", with: "\"created_at\"")
        XCTAssertEqual(error(misspelt), "table profile test.json: unknown key \"created_at\" (known: completedAt, createdAt, error, id, jobType, payload, result, resultColumns, startedAt, status, table, updatedAt, user)")
        let nested = minimal.replacingOccurrences(of: "\"failed\": \"d\"", with: "\"failure\": \"d\"")
        XCTAssertTrue(error(nested)?.contains("unknown key \"failure\" in \"status\"") == true, error(nested) ?? "")
    }

    func testMissingAndWrongValuesAreNamed() {
        let noID = minimal.replacingOccurrences(of: "\"id\": \"id\", ", with: "")
        XCTAssertEqual(error(noID), "table profile test.json: \"id\" is missing")
        let both = minimal.replacingOccurrences(of: "{\"fixed\": \"x\"}", with: "{\"fixed\": \"x\", \"column\": \"t\"}")
        XCTAssertEqual(error(both), "table profile test.json: \"jobType\" is {\"column\": NAME} or {\"fixed\": TYPE}")
        let numberTable = minimal.replacingOccurrences(of: "\"table\": \"t\"", with: "\"table\": 5")
        XCTAssertTrue(error(numberTable)?.hasPrefix("table profile test.json: \"table\" has the wrong type") == true,
                      error(numberTable) ?? "")
        XCTAssertEqual(error("{\"table\": "), "table profile test.json: not valid JSON")
        XCTAssertEqual(error("[]"), "table profile test.json: the top level has the wrong type: Expected to decode Dictionary<String, Any> but found an array instead.")
        let noCreated = minimal.replacingOccurrences(of: "\"createdAt\": \"created_at\"", with: "\"createdAt\": null")
        XCTAssertTrue(error(noCreated)?.contains("\"createdAt\" names the column that orders jobs") == true)
    }

    func testShapeProblemsAreRefusedBeforeAnyDatabase() {
        let sameWords = minimal.replacingOccurrences(of: "\"completed\": \"c\"", with: "\"completed\": \"a\"")
        XCTAssertEqual(error(sameWords), "table profile test.json: the four status words must differ: a, b, a, d")
        let longName = minimal.replacingOccurrences(of: "\"id\": \"id\"", with: "\"id\": \"\(String(repeating: "x", count: 64))\"")
        XCTAssertTrue(error(longName)?.contains("is not a usable name") == true)
        let noColumns = minimal.replacingOccurrences(of: "{\"column\": \"p\"}", with: "{\"columns\": []}")
        XCTAssertEqual(error(noColumns), "table profile test.json: \"payload\": {\"columns\": […]} needs at least one column")
        let threeParts = minimal.replacingOccurrences(of: "\"table\": \"t\"", with: "\"table\": \"a.b.c\"")
        XCTAssertEqual(error(threeParts), "table profile test.json: \"table\" is schema.table at most, not \"a.b.c\"")
        let idWritten = minimal.replacingOccurrences(of: "\"createdAt\"", with: "\"error\": \"id\", \"createdAt\"")
        XCTAssertEqual(error(idWritten), "table profile test.json: the id column \"id\" cannot also be written")
        let twice = minimal.replacingOccurrences(of: "\"createdAt\"", with: "\"error\": \"s\", \"createdAt\"")
        XCTAssertEqual(error(twice), "table profile test.json: status, error, result and resultColumns must be different columns")
    }
}
