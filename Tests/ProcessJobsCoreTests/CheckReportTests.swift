import XCTest
@testable import ProcessJobsCore

final class CheckReportTests: XCTestCase {
    func testAllPassed() {
        var report = CheckReport()
        report.add(.pass, "database", "ok")
        report.add(.warn, "pg_cron", "still active")
        XCTAssertEqual(report.exitCode, 0, "warnings do not fail")
        XCTAssertEqual(report.rendered(), "✓ database: ok\n! pg_cron: still active\nall checks passed (1 warning)\n")
    }

    func testFirstFailureDecidesTheExitCode() {
        var report = CheckReport()
        report.add(.pass, "configuration", "ok")
        report.add(.fail(exitCode: 75), "database", "down\nsecond line")
        report.add(.skip, "schema", "skipped")
        report.add(.fail(exitCode: 77), "route x", "rejected")
        XCTAssertEqual(report.exitCode, 75)
        XCTAssertEqual(report.rendered(), """
            ✓ configuration: ok
            ✗ database: down second line
            - schema: skipped
            ✗ route x: rejected
            2 checks failed (exit 75)

            """)
    }
}
