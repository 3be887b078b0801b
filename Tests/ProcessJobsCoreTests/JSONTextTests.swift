import Foundation
import XCTest
@testable import ProcessJobsCore

final class JSONTextTests: XCTestCase {
    func testIsValid() {
        let cases: [(text: String, valid: Bool)] = [
            ("{}", true), ("[]", true), (#"{"a":1}"#, true), (#"[1,"x",null,true,false,-1.5e3]"#, true),
            (#""text""#, true), ("42", true), ("null", true), ("true", true), (" {\"a\":1} \n", true),
            (#"{"a":{"b":[{"c":"\u00e9\n"}]}}"#, true),
            ("", false), (" ", false), ("{", false), (#"{"a":}"#, false), ("OK", false), ("{} {}", false), ("{}x", false),
            (#"{"a":"\u0000"}"#, false), (#"["\u0000"]"#, false), ("{'a':1}", false), ("{a:1}", false), ("NaN", false),
            ("<html></html>", false), (#"{"a":"unterminated}"#, false),
        ]
        for (text, valid) in cases {
            XCTAssertEqual(JSONText.isValid(Array(text.utf8)), valid, text)
        }
    }

    func testErrorField() {
        let cases: [(text: String, field: String?)] = [
            (#"{"error":"x"}"#, "x"),
            (#"{"error":{"message":"y"}}"#, "y"),
            (#"{"message":"z"}"#, "z"),
            (#"{"error":"x","message":"z"}"#, "x"),
            (#"{"message":"z","error":{"message":"y"}}"#, "y"),
            (#"{"error":{"code":1},"message":"z"}"#, "z"),
            (#"{"error":{"message":5}}"#, nil),
            (#"{"error":5}"#, nil),
            (#"{"error":null}"#, nil),
            (#"{"error":true}"#, nil),
            (#"{"error":"404"}"#, "404"),
            (#"{"error":"true"}"#, "true"),
            (#"{"error":""}"#, ""),
            (" \n\t{\"error\":\"x\"}", "x"),
            (#"{"error":"caf\u00e9 \"quoted\"\nline"}"#, "café \"quoted\"\nline"),
            (#"[{"error":"x"}]"#, nil),
            (#""x""#, nil),
            ("", nil),
            ("not json", nil),
            (#"{"error":"x""#, nil),
            (#"{"status":"failed"}"#, nil),
        ]
        for (text, field) in cases {
            XCTAssertEqual(JSONText.errorField(Array(text.utf8)), field, text)
        }
    }

    func testQuote() {
        let cases: [(text: String, literal: String)] = [
            ("", #""""#),
            ("abc", #""abc""#),
            ("a\"b", #""a\"b""#),
            ("a\\b", #""a\\b""#),
            ("\n\r\t", #""\n\r\t""#),
            ("\u{1}\u{8}\u{C}\u{1B}\u{1F}", #""\u0001\u0008\u000c\u001b\u001f""#),
            ("a\u{0}b", #""ab""#),
            ("é日本😀", "\"é日本😀\""),
            ("\u{7F}\u{2028}", "\"\u{7F}\u{2028}\""),
            ("</script>", #""</script>""#),
            (" ", #"" ""#),
        ]
        for (text, literal) in cases {
            XCTAssertEqual(JSONText.quote(text), literal, text.debugDescription)
        }
    }

    func testQuoteRoundTrips() throws {
        let samples = ["plain", "q\"b\\s/", "\u{1}\u{1F}\n\r\t\u{8}", "é日本😀", "e\u{301}", String(repeating: "x", count: 10_000)]
        for text in samples {
            let literal = JSONText.quote(text)
            XCTAssertTrue(JSONText.isValid(Array(literal.utf8)), literal)
            let decoded = try JSONSerialization.jsonObject(with: Data(literal.utf8), options: .fragmentsAllowed) as? String
            XCTAssertEqual(decoded, text)
        }
    }
}

extension JSONTextTests {
    /// Only the error fields are decoded: the whole of an answer nested 511 levels deep (one
    /// below the validator's limit) took 2 s of CPU per answer (found by the fuzz pass).
    func testErrorFieldIgnoresTheRestOfTheAnswer() {
        let depth = 511
        for nested in ["[", #"{"a":"#] {
            let closing = nested == "[" ? "]" : "}"
            let body = #"{"error":"boom","x":"# + String(repeating: nested, count: depth) + "1" + String(repeating: closing, count: depth) + "}"
            let started = Date()
            XCTAssertEqual(JSONText.errorField(Array(body.utf8)), "boom")
            XCTAssertLessThan(Date().timeIntervalSince(started), 0.25)
        }
        XCTAssertEqual(JSONText.errorField(Array(#"{"error":{"message":"inner","x":[1]},"message":"outer"}"#.utf8)), "inner")
        XCTAssertEqual(JSONText.errorField(Array(#"{"error":{"code":1},"message":"outer"}"#.utf8)), "outer")
        XCTAssertEqual(JSONText.errorField(Array(#"{"error":[1],"message":"outer"}"#.utf8)), "outer")
        XCTAssertNil(JSONText.errorField(Array(#"{"error":1}"#.utf8)))
    }
}
