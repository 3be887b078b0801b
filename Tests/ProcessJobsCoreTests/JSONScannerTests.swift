@testable import ProcessJobsCore
import XCTest

/// The validator every 2xx answer goes through: strict JSON plus jsonb's own refusals.
final class JSONScannerTests: XCTestCase {
    private func valid(_ text: String) -> Bool { JSONText.isValid(Array(text.utf8)) }

    func testAcceptsEveryKindOfValue() {
        for text in [#"{"success":true,"url":"https://x/y.png"}"#, "[]", "{}", " [1, -2.5e3, 0.1, 0, 1E+2] ",
                     #""text""#, "true", "false", "null", "42", #"{"a":{"b":[{"c":null}]}}"#,
                     #""escapes \" \\ \/ \b \f \n \r \t \u00e9 \ud83d\ude00""#, "\"caf\u{e9} \u{1F600}\""] {
            XCTAssertTrue(valid(text), text)
        }
    }

    func testRefusesWhatJSONRefuses() {
        for text in ["", " ", "{", "[1,]", #"{"a":1,}"#, "{a:1}", "'x'", "01", "1.", ".5", "-", "1e", "+1",
                     "tru", "nul", "[1] x", #"{"a" 1}"#, "\"tab\there\"", #""\x""#, #""\u12""#, "NaN", "Infinity"] {
            XCTAssertFalse(valid(text), text)
        }
    }

    func testRefusesWhatJsonbRefuses() {
        XCTAssertFalse(valid(#""\u0000""#), "jsonb cannot hold NUL")
        XCTAssertFalse(valid(#""\ud83d""#), "a lone high surrogate")
        XCTAssertFalse(valid(#""\ude00""#), "a lone low surrogate")
        XCTAssertFalse(valid(#""\ud83d\u0041""#), "a high surrogate not followed by a low one")
        XCTAssertFalse(valid("1e200000"), "beyond numeric's range")
        XCTAssertTrue(valid("1e300"))
    }

    func testRefusesInvalidUTF8() {
        for bytes: [UInt8] in [[0x22, 0xFF, 0x22], [0x22, 0xC0, 0x80, 0x22], [0x22, 0xE0, 0x80, 0x80, 0x22],
                               [0x22, 0xED, 0xA0, 0x80, 0x22], [0x22, 0xF4, 0x90, 0x80, 0x80, 0x22], [0x22, 0xC3, 0x22]] {
            XCTAssertFalse(JSONText.isValid(bytes), "\(bytes)")
        }
        XCTAssertTrue(JSONText.isValid([0x22, 0xC3, 0xA9, 0x22]))
    }

    func testDepthIsBounded() {
        XCTAssertTrue(valid(String(repeating: "[", count: 100) + String(repeating: "]", count: 100)))
        XCTAssertFalse(valid(String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)),
                       "a hostile answer must not exhaust the stack")
    }

    func testQuoteFastPathAndEscapes() {
        XCTAssertEqual(JSONText.quote("plain-id:123"), #""plain-id:123""#)
        XCTAssertEqual(JSONText.quote("a\"b\\c\nd\u{1}e\u{0}f"), #""a\"b\\c\nd\u0001ef""#)
        XCTAssertEqual(JSONText.quote("caf\u{e9}"), "\"caf\u{e9}\"")
    }
}
