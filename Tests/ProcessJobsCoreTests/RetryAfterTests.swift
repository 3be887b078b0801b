import XCTest
@testable import ProcessJobsCore

final class RetryAfterTests: XCTestCase {
    /// "Sun, 06 Nov 1994 08:49:37 GMT" in Unix seconds.
    let rfcExample = 784_111_777.0

    func testDelaySeconds() {
        let cases: [(value: String, expected: Double)] = [
            ("0", 0), ("1", 1), ("120", 120), (" 120 ", 120), ("86400", 86400),
        ]
        for (value, expected) in cases {
            XCTAssertEqual(RetryAfter.seconds(value, responseDate: nil, now: 0), expected, value)
            // A Date header does not change delay-seconds.
            XCTAssertEqual(RetryAfter.seconds(value, responseDate: "Sun, 06 Nov 1994 08:49:37 GMT", now: 0), expected, value)
        }
    }

    func testDateMeasuredAgainstDateHeader() {
        let value = "Sun, 06 Nov 1994 08:50:37 GMT"
        // The host clock is far off; the app's own Date header is what counts.
        XCTAssertEqual(RetryAfter.seconds(value, responseDate: "Sun, 06 Nov 1994 08:49:37 GMT", now: 0), 60)
        XCTAssertEqual(RetryAfter.seconds(value, responseDate: "Sun, 06 Nov 1994 08:49:37 GMT", now: 2e9), 60)
        XCTAssertEqual(RetryAfter.seconds("Mon, 07 Nov 1994 08:49:37 GMT", responseDate: "Sun, 06 Nov 1994 08:49:37 GMT", now: 0),
                       86400)
    }

    func testDateMeasuredAgainstNowWithoutDateHeader() {
        XCTAssertEqual(RetryAfter.seconds("Sun, 06 Nov 1994 08:49:37 GMT", responseDate: nil, now: rfcExample - 90), 90)
        // An unreadable Date header is as good as none.
        XCTAssertEqual(RetryAfter.seconds("Sun, 06 Nov 1994 08:49:37 GMT", responseDate: "yesterday", now: rfcExample - 90), 90)
    }

    func testPastDatesAreZero() {
        XCTAssertEqual(RetryAfter.seconds("Sun, 06 Nov 1994 08:49:37 GMT", responseDate: nil, now: rfcExample + 500), 0)
        XCTAssertEqual(RetryAfter.seconds("Sun, 06 Nov 1994 08:49:37 GMT", responseDate: "Mon, 07 Nov 1994 08:49:37 GMT", now: 0), 0)
        XCTAssertEqual(RetryAfter.seconds("Thu, 01 Jan 1970 00:00:00 GMT", responseDate: nil, now: rfcExample), 0)
    }

    func testGarbageIsNil() {
        let values = [
            "", " ", "soon", "-5", "1.5", "5s", "0x10", "99999999999999999999999",
            "Sun, 06 Nov 1994 08:49:37 UTC", "Sun 06 Nov 1994 08:49:37 GMT", "Sun, 06 Nov 1994 08:49 GMT",
            "Sun, 06 Foo 1994 08:49:37 GMT", "Sun, 32 Nov 1994 08:49:37 GMT", "Sun, 00 Nov 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 24:00:00 GMT", "Sun, 06 Nov 1994 08:60:00 GMT", "Sun, 06 Nov 1994 08:49:61 GMT",
            "Sun, 06 nov 1994 08:49:37 GMT", "Sun, 06 Nov 1994 08:49:37 GMT extra",
        ]
        for value in values {
            XCTAssertNil(RetryAfter.seconds(value, responseDate: nil, now: 0), "'\(value)'")
        }
    }

    /// Years far outside what a clock can say (3×10¹¹, Int.max, negative) used to overflow the
    /// day arithmetic and trap: such a date is no date, and a Date header like it is absent.
    func testHostileYearsAreNilNotATrap() {
        let years = ["300000000000", "9223372036854775807", "-9223372036854775808", "-1", "0", "99999", "+2026", "10000"]
        for year in years {
            let value = "Sun, 06 Nov \(year) 08:49:37 GMT"
            XCTAssertNil(RetryAfter.imfFixdate(value), value)
            XCTAssertNil(RetryAfter.seconds(value, responseDate: nil, now: 0), value)
            XCTAssertEqual(RetryAfter.seconds("Sun, 06 Nov 1994 08:49:37 GMT", responseDate: value, now: rfcExample - 90), 90, value)
        }
        XCTAssertEqual(RetryAfter.imfFixdate("Fri, 31 Dec 9999 23:59:59 GMT"), 253_402_300_799)
        XCTAssertEqual(RetryAfter.imfFixdate("Mon, 01 Jan 0001 00:00:00 GMT"), -62_135_596_800)
    }

    /// The largest delay-seconds an Int holds is a number, not a trap; the retry policy caps it.
    func testHugeDelaySeconds() {
        XCTAssertEqual(RetryAfter.seconds("9223372036854775807", responseDate: nil, now: 0), 9_223_372_036_854_775_807)
    }

    /// Property: whatever the app (or anyone on the path) sends as Retry-After and Date, the
    /// result is nil or a finite delay >= 0, and nothing traps. Inputs are built from the pieces a
    /// date is made of, with numbers of every size, plus random bytes; seeded, so a failure repeats.
    func testAnyHeaderValuesGiveNilOrAFiniteDelay() {
        var random = SplitMix64(seed: 2026)
        let numbers = ["0", "1", "-1", "06", "9999", "10000", "300000000000", "9223372036854775807", "-9223372036854775808",
                       "99999999999999999999", "+5", "", "1e9", "0x10", "٣"]
        let words = ["Sun,", "Mon,", "Nov", "Feb", "GMT", "UTC", "08:49:37", "23:59:60", "99:99:99", "-1:-1:-1", ",", " "]
        func piece() -> String {
            switch random.next() % 4 {
            case 0: return numbers[Int(random.next() % UInt64(numbers.count))]
            case 1: return words[Int(random.next() % UInt64(words.count))]
            case 2: return String(decoding: (0..<(random.next() % 8)).map { _ in UInt8(truncatingIfNeeded: random.next()) }, as: UTF8.self)
            default: return String(Int64(bitPattern: random.next()))
            }
        }
        func number() -> String { random.next() % 2 == 0 ? numbers[Int(random.next() % UInt64(numbers.count))] : String(Int64(bitPattern: random.next())) }
        func value() -> String {
            if random.next() % 2 == 0 {  // date-shaped: every field a number of any size
                return "Sun, \(number()) Nov \(number()) \(number()):\(number()):\(number()) GMT"
            }
            return (0..<(1 + random.next() % 7)).map { _ in piece() }.joined(separator: random.next() % 3 == 0 ? "" : " ")
        }
        for _ in 0..<50_000 {
            let retryAfter = value(), date = value()
            let now = Double(Int64(bitPattern: random.next()) >> 20)
            if let seconds = RetryAfter.seconds(retryAfter, responseDate: date, now: now) {
                XCTAssertTrue(seconds.isFinite && seconds >= 0, "\(retryAfter.debugDescription) / \(date.debugDescription): \(seconds)")
            }
        }
    }

    func testImfFixdate() {
        XCTAssertEqual(RetryAfter.imfFixdate("Sun, 06 Nov 1994 08:49:37 GMT"), rfcExample)
        XCTAssertEqual(RetryAfter.imfFixdate("Thu, 01 Jan 1970 00:00:00 GMT"), 0)
        XCTAssertEqual(RetryAfter.imfFixdate("Tue, 29 Feb 2000 23:59:59 GMT"), 951_868_799)
        XCTAssertEqual(RetryAfter.imfFixdate("Tue, 19 Jan 2038 03:14:08 GMT"), 2_147_483_648)
    }

    func testDaysFromCivil() {
        let cases: [(year: Int, month: Int, day: Int, days: Int)] = [
            (1970, 1, 1, 0), (1969, 12, 31, -1), (1970, 1, 2, 1), (1971, 1, 1, 365),
            (1994, 11, 6, 9075), (2000, 1, 1, 10957), (2000, 2, 29, 11016), (2000, 3, 1, 11017),
            (2038, 1, 19, 24855), (1900, 3, 1, -25508),
        ]
        for (year, month, day, days) in cases {
            XCTAssertEqual(RetryAfter.daysFromCivil(year: year, month: month, day: day), days, "\(year)-\(month)-\(day)")
        }
    }
}
