import XCTest
@testable import ProcessJobsCore

final class DurationTextTests: XCTestCase {
    func testAccepted() throws {
        let cases: [(text: String, seconds: Double)] = [
            ("30s", 30), ("5m", 300), ("2h", 7200), ("7d", 604_800), ("250ms", 0.25),
            ("90", 90), ("1.5", 1.5), ("0", 0), ("0.5s", 0.5), ("1.5h", 5400), ("1000ms", 1),
            (" 10s ", 10), ("007", 7),
        ]
        for (text, seconds) in cases {
            XCTAssertEqual(try DurationText.seconds(text), seconds, accuracy: 1e-9, "'\(text)'")
        }
    }

    func testRejected() {
        let texts = [
            "", " ", "-5", "5x", "abc", "1e3", "inf", "nan", "+5", "s", "ms", ".", "1.2.3", "5 s", "5S", "5sec",
            "1_000", "٣", "5\n", "0x10",
        ]
        for text in texts {
            XCTAssertThrowsError(try DurationText.seconds(text), "'\(text)'") { error in
                let description = String(describing: error)
                XCTAssertTrue(description.contains("'\(text)'"), description)
                XCTAssertTrue(description.contains("e.g. 30s, 5m, 7d"), description)
            }
        }
    }

    func testFormat() {
        let cases: [(seconds: Double, text: String)] = [
            (0, "0ms"), (0.001, "1ms"), (0.25, "250ms"), (1, "1s"), (1.5, "1.5s"), (30, "30s"), (90, "90s"),
            (120, "2m"), (300, "5m"), (7199, "120m"), (7200, "2h"), (86_400, "24h"), (172_800, "2d"), (604_800, "7d"),
        ]
        for (seconds, text) in cases {
            XCTAssertEqual(DurationText.format(seconds), text, "\(seconds)")
        }
    }

    func testFormatReadsBack() throws {
        for seconds in [0.25, 1, 1.5, 30, 300, 7200, 604_800] {
            XCTAssertEqual(try DurationText.seconds(DurationText.format(seconds)), seconds, accuracy: 1e-9)
        }
    }
}

extension DurationTextTests {
    func testRefusesDurationsBeyondTenYears() {
        XCTAssertThrowsError(try DurationText.seconds("3651d"))
        XCTAssertThrowsError(try DurationText.seconds(String(repeating: "9", count: 300) + "d"))
        XCTAssertEqual(try DurationText.seconds("3650d"), 3650 * 86_400)
    }
}

extension DurationTextTests {
    /// Differences of row timestamps reach here (an 'infinity' run_at, a year 294276 lease):
    /// whatever the number, a text and no trap.
    func testFormatsAnyNumber() {
        XCTAssertEqual(DurationText.format(.infinity), "infinity")
        XCTAssertEqual(DurationText.format(-.infinity), "-infinity")
        XCTAssertEqual(DurationText.format(.nan), "unknown")
        XCTAssertEqual(DurationText.format(1e300), "1.1574074074074075e+295d")
        XCTAssertEqual(DurationText.format(-90), "-90s")
        XCTAssertEqual(DurationText.format(-1e20), "-1157407407407408.0d")
    }
}
