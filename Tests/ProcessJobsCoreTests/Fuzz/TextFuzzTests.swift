import Foundation
import XCTest
@testable import ProcessJobsCore

/// What operators type and what rows hold, read and written as text: durations, times, numbers,
/// job ids.
final class TextFuzzTests: XCTestCase {
    static let durationWords = ["30", "5", "0", "1.5", ".", "s", "m", "h", "d", "ms", "3650", "3651", "315360000", "0.001"]
        + Hostile.boundaryIntegers

    func testDurationsStayWithinTenYears() {
        let fixed = Hostile.boundaryIntegers.flatMap { number in ["", "s", "m", "h", "d", "ms"].map { number + $0 } }
            + Hostile.hostilePieces
        Fuzz.run(self, "DurationText.seconds", fixed: fixed, generate: { hostile in
            hostile.chance(50) ? hostile.text(Self.durationWords, maxPieces: 4) : hostile.mutate("30s", Self.durationWords)
        }) { text in
            if let seconds = try? DurationText.seconds(text) {
                XCTAssertTrue(seconds.isFinite && seconds >= 0 && seconds <= DurationText.maximum, "'\(text)': \(seconds)")
            }
        }
    }

    /// Any number of seconds formats without trapping (a row's timestamp may be infinity); every
    /// duration an operator may give reads back from its formatted form, to the unit shown.
    func testDurationFormatReadsBack() {
        Fuzz.run(self, "DurationText.format", fixed: [0, .nan, .infinity, -.infinity, 1e300, -1e300, 9.3e15, -9.3e15, 1e24],
                 bytes: { withUnsafeBytes(of: $0) { Array($0) } }, generate: { $0.double() }) { seconds in
            let text = DurationText.format(seconds)
            guard seconds >= 0 && seconds <= DurationText.maximum else { return }
            guard let back = try? DurationText.seconds(text) else { return XCTFail("\(seconds) formats as '\(text)', which does not read back") }
            XCTAssertEqual(back, seconds, accuracy: max(0.0005, seconds * 0.26), "\(seconds) -> \(text)")
        }
    }

    func testTimesFormatAndReadBack() {
        Fuzz.run(self, "TimeText", fixed: [.nan, .infinity, -.infinity, 9.3e18, -9.3e18, 1e300, -62_167_219_200, 253_402_300_799, 253_402_300_800],
                 bytes: { withUnsafeBytes(of: $0) { Array($0) } }, generate: { $0.double() }) { unix in
            let text = TimeText.rfc3339(unix)
            _ = TimeText.relative(unix)
            _ = TimeText.relative(-unix)
            if unix >= -62_167_219_200 && unix < 253_402_300_800 {  // years 0000 to 9999
                XCTAssertEqual(RunAt.rfc3339(text), unix.rounded(.down), "\(unix) -> \(text)")
            }
        }
    }

    static let runAtWords = ["2025", "-", "01", "31", "T", "t", " ", "09", ":", "00", "60", "Z", "z", "+", "-", "01:00", "23:59",
                             "24:00", ".", "5", "999999999999", "now", "+5m", "+90", "0000", "9999", "02", "29", "13", "00"]

    func testRunAtIsFiniteAndInRange() {
        let fixed = ["now", "+0", "+3650d", "+3651d", "0000-01-01T00:00:00Z", "9999-12-31T23:59:60-23:59", "9999-12-31T23:59:59.99999999999999999999Z",
                     "2025-02-29T00:00:00Z", "2024-02-29T00:00:00+00:00", "2025-01-31T09:00:00." + String(repeating: "9", count: 5000) + "Z"]
            + Hostile.boundaryIntegers.map { "+" + $0 }
        Fuzz.run(self, "RunAt.parse", fixed: fixed, generate: { hostile in
            hostile.chance(70) ? hostile.mutate(hostile.pick(["2025-01-31T09:00:00Z", "2025-01-31 10:00:00.5+01:00", "+5m"]), Self.runAtWords)
                : hostile.text(Self.runAtWords, maxPieces: 14)
        }) { text in
            guard let runAt = try? RunAt.parse(text) else { return }
            XCTAssertTrue(runAt.seconds.isFinite, text)
            switch runAt.kind {
            case .relative: XCTAssertTrue(runAt.seconds >= 0 && runAt.seconds <= DurationText.maximum, text)
            case .absolute: XCTAssertTrue(runAt.seconds >= -62_167_219_200 - 86_400 && runAt.seconds < 253_402_300_800 + 86_400, text)
            }
            XCTAssertEqual(Double(runAt.parameter) ?? .nan, runAt.seconds, accuracy: 0.0005 + abs(runAt.seconds) * 1e-15, text)
        }
    }

    /// Fixed decimals read back as the number, to the last decimal shown; no exponent below 10^15.
    func testNumbersReadBack() {
        Fuzz.run(self, "NumberText.fixed", fixed: [0, -0.0, 1e15, -1e15, 999_999_999_999_999.9, .greatestFiniteMagnitude, -.greatestFiniteMagnitude,
                                             .leastNonzeroMagnitude, 9.2e18, 0.0005, -0.0005, 0.9995],
                 bytes: { withUnsafeBytes(of: $0) { Array($0) } }, generate: { $0.double(finite: true) }) { value in
            for decimals in [0, 1, 3, 6, 9] {
                let text = NumberText.fixed(value, decimals: decimals)
                guard let back = Double(text) else { return XCTFail("\(value) -> '\(text)'") }
                XCTAssertEqual(back, value, accuracy: 0.5 * pow(10, -Double(decimals)) + abs(value) * 1e-15, "\(value) -> \(text)")
                if abs(value) < 1e15 { XCTAssertFalse(text.contains("e"), text) }
                XCTAssertNotEqual(text, "-0")
            }
        }
    }

    nonisolated(unsafe) static let uuid = /[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}/

    func testJobIDsMatchUUIDSyntax() {
        Fuzz.run(self, "JobID.isValid", fixed: ["", "00000000-0000-0000-0000-000000000000", "FFFFFFFF-ffff-FFFF-ffff-FFFFFFFFFFFF",
                                          "00000000-0000-0000-0000-00000000000", "{00000000-0000-0000-0000-000000000000}",
                                          "00000000x0000-0000-0000-000000000000", "0000000-00000-0000-0000-000000000000"],
                 generate: { hostile in
            hostile.mutate(hostile.chance(50) ? UUID().uuidString : UUID().uuidString.lowercased(), ["-", "g", "G", "é", "0", "{", "}"])
        }) { text in
            XCTAssertEqual(JobID.isValid(text), text.utf8.count == 36 && text.wholeMatch(of: Self.uuid) != nil, text)
        }
    }
}
