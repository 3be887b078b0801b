@testable import ProcessJobsCore
import XCTest

final class SchemaVersionTests: XCTestCase {
    func testTheRecordedVersionAgainstThisRunner() {
        let current = SchemaVersion.current
        XCTAssertEqual(SchemaVersion.check(found: current), .current)
        XCTAssertEqual(SchemaVersion.check(found: current - 1), .older(found: current - 1, needed: current))
        XCTAssertEqual(SchemaVersion.check(found: 0), .older(found: 0, needed: current), "no version recorded")
        XCTAssertEqual(SchemaVersion.check(found: current + 1), .newer(found: current + 1, known: current))
    }

    func testTheMigrationRecordsTheCurrentVersion() {
        XCTAssertTrue(Migration.sql.contains("INSERT INTO process_jobs.schema_version (version) VALUES (\(SchemaVersion.current))"))
        XCTAssertTrue(Migration.sql.hasPrefix("-- process-jobs schema migration \(SchemaVersion.current):"))
    }
}
