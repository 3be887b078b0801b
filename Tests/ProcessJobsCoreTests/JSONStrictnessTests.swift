import Foundation
import XCTest
@testable import ProcessJobsCore

/// What counts as a JSON answer: never more than PostgreSQL's jsonb accepts. An answer called
/// JSON is embedded in the tick statement's jsonb parameter, and a value jsonb refuses fails the
/// whole statement: the run dies (exit 78) and every outcome of its batch goes unrecorded.
/// Each refusal below was checked against PostgreSQL 15 (IntegrationTests/JSONAgainstJsonbTests
/// checks them against the server the tests run on).
final class JSONStrictnessTests: XCTestCase {
    private func valid(_ text: String) -> Bool { JSONText.isValid(Array(text.utf8)) }

    /// numeric holds at most 131072 digits before the point and 16383 after, as written once
    /// the exponent has moved the point.
    func testNumbersWithinNumericsRange() {
        let cases: [(text: String, valid: Bool)] = [
            ("1e-16383", true), ("1e-16384", false), ("1.5e-16383", false), ("0.5e-16383", false), ("100e-16385", false),
            ("1E-16384", false), ("1e-99999", false), ("-1e-20000", false),
            ("1e131071", true), ("9.9e131071", true), ("1.5e131071", true), ("1e131072", false), ("1e+131072", false),
            ("1e100000", true), ("1e400", true), ("-1e400", true),
            ("0." + String(repeating: "0", count: 16382) + "1", true), ("0." + String(repeating: "0", count: 16383) + "1", false),
            ("0." + String(repeating: "0", count: 16382) + "1e1", true), ("0." + String(repeating: "0", count: 16382) + "1e-1", false),
        ]
        for (text, expected) in cases {
            XCTAssertEqual(valid("[\(text)]"), expected, String(text.prefix(40)))
        }
    }

    func testWhatLenientParsersTakeButJsonbRefuses() {
        for text in ["[1,]", #"{"a":1,}"#, #"{"a" : 1 , }"#, #"{"a":[1,2,],}"#, "[[],]", "[1 ,\n]", "\u{FEFF}{\"a\":1}", "\u{FEFF}[]"] {
            XCTAssertFalse(valid(text), text.debugDescription)
        }
        for encoding in [String.Encoding.utf16LittleEndian, .utf16BigEndian, .utf16] {
            XCTAssertFalse(JSONText.isValid(Array(#"{"a":1}"#.data(using: encoding)!)), "UTF-16 (\(encoding))")
        }
        XCTAssertFalse(JSONText.isValid(Array(#"{"a":1}"#.utf8) + [0]), "a raw NUL byte")
    }

    func testNestingUpToTheLimit() {
        func nested(_ depth: Int) -> String { String(repeating: "[", count: depth) + String(repeating: "]", count: depth) }
        XCTAssertTrue(valid(nested(512)))
        XCTAssertFalse(valid(nested(513)), "deeper: completed with result null")
        XCTAssertFalse(valid(nested(32_768)), "as deep as a 64 KiB answer can go: refused, not a crash")
    }

    func testUnicodeKeysAndEscapes() {
        XCTAssertTrue(valid(#"{"ключ 🔑":"значение","tab\there":"a\u0001b","e\u0301":1,"\u2028":"","":null,"\ud83d\ude00":true}"#))
        XCTAssertTrue(valid(#"{"a":",]","b":"\ufeff","c\",}":[",]"]}"#), "commas and marks inside strings are fine")
    }

    func testAnswersJsonbWouldRefuseCompleteWithoutResult() {
        for body in ["[1,]", "\u{FEFF}{\"ok\":true}", #"{"ok":true,"p":1e-20000}"#,
                     String(repeating: "[", count: 600) + String(repeating: "]", count: 600)] {
            let verdict = Verdict.classify(.response(Response(status: 200, body: Array(body.utf8))), now: 0)
            XCTAssertEqual(verdict, .success(result: nil), String(body.prefix(30)))
        }
    }
}
