import XCTest
@testable import ProcessJobsCore

final class TimeTextTests: XCTestCase {
    func testRFC3339() {
        XCTAssertEqual(TimeText.rfc3339(0), "1970-01-01T00:00:00Z")
        XCTAssertEqual(TimeText.rfc3339(1_738_314_000.9), "2025-01-31T09:00:00Z")
        XCTAssertEqual(TimeText.rfc3339(1_709_164_800), "2024-02-29T00:00:00Z")
        XCTAssertEqual(TimeText.rfc3339(-1), "1969-12-31T23:59:59Z")
        XCTAssertEqual(TimeText.rfc3339(253_402_300_799), "9999-12-31T23:59:59Z")
    }

    func testRoundTripsWithRunAt() throws {
        for unix in stride(from: -86_400.0 * 800, to: 86_400.0 * 40_000, by: 86_400 * 37 + 3_671) {
            XCTAssertEqual(RunAt.rfc3339(TimeText.rfc3339(unix)), unix, "\(unix)")
        }
    }

    func testRelative() {
        XCTAssertEqual(TimeText.relative(0.2), "now")
        XCTAssertEqual(TimeText.relative(240), "in 4m")
        XCTAssertEqual(TimeText.relative(-42), "42s ago")
        XCTAssertEqual(TimeText.relative(28.3), "in 28s")
        XCTAssertEqual(TimeText.relative(-1.9), "1.9s ago")
        XCTAssertEqual(TimeText.relative(-3 * 3600), "3h ago")
    }

    func testDaysInMonth() {
        XCTAssertEqual(TimeText.daysInMonth(year: 2024, month: 2), 29)
        XCTAssertEqual(TimeText.daysInMonth(year: 2100, month: 2), 28)
        XCTAssertEqual(TimeText.daysInMonth(year: 2000, month: 2), 29)
        XCTAssertEqual(TimeText.daysInMonth(year: 2025, month: 4), 30)
        XCTAssertEqual(TimeText.daysInMonth(year: 2025, month: 12), 31)
    }

    func testInfiniteAndHugeTimesNeverTrap() {
        XCTAssertEqual(TimeText.rfc3339(.infinity), "infinity")
        XCTAssertEqual(TimeText.rfc3339(-.infinity), "-infinity")
        XCTAssertEqual(TimeText.rfc3339(.nan), "-")
        XCTAssertEqual(TimeText.relative(.infinity), "never")
        XCTAssertEqual(TimeText.relative(-.infinity), "forever ago")
        XCTAssertEqual(TimeText.age(.infinity), "forever")
        XCTAssertEqual(TimeText.age(9.2e12), "106481481d")
        XCTAssertEqual(TimeText.age(-3), "0ms")
        XCTAssertEqual(TimeText.age(95.4), "95s")
        XCTAssertEqual(TimeText.relative(-9.2e18), "forever ago")
        XCTAssertEqual(TimeText.rfc3339(9.3e18), "infinity")
        XCTAssertEqual(TimeText.rfc3339(1e300), "infinity")
        XCTAssertEqual(TimeText.rfc3339(-9.3e18), "-infinity")
    }
}
