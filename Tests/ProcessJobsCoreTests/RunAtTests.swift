import XCTest
@testable import ProcessJobsCore

final class RunAtTests: XCTestCase {
    func testRFC3339() throws {
        let cases: [(String, Double)] = [
            ("1970-01-01T00:00:00Z", 0),
            ("2025-01-31T09:00:00Z", 1_738_314_000),
            ("2025-01-31t09:00:00z", 1_738_314_000),
            ("2025-01-31 09:00:00Z", 1_738_314_000),
            ("2025-01-31T10:00:00+01:00", 1_738_314_000),
            ("2025-01-31T04:30:00-04:30", 1_738_314_000),
            ("2025-01-31T09:00:00.25Z", 1_738_314_000.25),
            ("2024-02-29T00:00:00Z", 1_709_164_800),
            ("  2025-01-31T09:00:00Z ", 1_738_314_000),
        ]
        for (text, unix) in cases {
            let runAt = try RunAt.parse(text)
            XCTAssertEqual(runAt.kind, .absolute, text)
            XCTAssertEqual(runAt.seconds, unix, accuracy: 1e-6, text)
        }
    }

    func testRelative() throws {
        let cases: [(String, Double)] = [("+5m", 300), ("+30s", 30), ("+2h", 7200), ("+1d", 86_400), ("+90", 90), ("+0", 0), ("now", 0)]
        for (text, seconds) in cases {
            XCTAssertEqual(try RunAt.parse(text), RunAt(kind: .relative, seconds: seconds), text)
        }
    }

    func testRejected() {
        let texts = [
            "", "tomorrow", "5m", "300", "+", "+5x", "+-5m", "-5m",
            "2025-01-31T09:00:00", "2025-01-31", "2025-01-31T09:00Z", "2025-13-01T00:00:00Z", "2025-02-29T00:00:00Z",
            "2025-04-31T00:00:00Z", "2025-01-31T24:00:00Z", "2025-01-31T09:60:00Z", "2025-01-31T09:00:00.Z",
            "2025-01-31T09:00:00+1:00", "2025-01-31T09:00:00+01", "2025-01-31T09:00:00Zjunk", "25-01-31T09:00:00Z",
            "2025-01-31T09:00:00+24:00",
        ]
        for text in texts {
            XCTAssertThrowsError(try RunAt.parse(text), "'\(text)'") { error in
                XCTAssertTrue("\(error)".contains("RFC 3339"), "\(error)")
                XCTAssertTrue("\(error)".contains("+5m"), "\(error)")
            }
        }
    }

    func testParameterHasMillisecondsAndNoExponent() {
        XCTAssertEqual(RunAt(kind: .absolute, seconds: 1_738_314_000.25).parameter, "1738314000.25")
        XCTAssertEqual(RunAt(kind: .relative, seconds: 300).parameter, "300")
    }
}
