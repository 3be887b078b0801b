import Foundation
import XCTest
@testable import ProcessJobsCore

/// Answer bodies: the validator every 2xx body goes through, the error field of every other
/// answer, and the quoting of error texts into the outcome document.
final class JSONFuzzTests: XCTestCase {
    /// A JSON document that PostgreSQL's jsonb accepts: strings with escapes and non-ASCII,
    /// numbers with exponents inside numeric's range, whitespace anywhere allowed.
    static func document(_ hostile: inout Hostile, depth: Int) -> String {
        func space() -> String { hostile.chance(20) ? hostile.pick([" ", "\n", "\t", "\r\n  "]) : "" }
        let kind = depth > 6 ? Int.random(in: 2..<6, using: &hostile) : Int.random(in: 0..<6, using: &hostile)
        switch kind {
        case 0:
            let members = (0..<Int.random(in: 0...4, using: &hostile)).map { _ in
                space() + string(&hostile) + space() + ":" + space() + document(&hostile, depth: depth + 1) + space()
            }
            return "{" + members.joined(separator: ",") + space() + "}"
        case 1:
            let items = (0..<Int.random(in: 0...4, using: &hostile)).map { _ in space() + document(&hostile, depth: depth + 1) + space() }
            return "[" + items.joined(separator: ",") + space() + "]"
        case 2: return string(&hostile)
        case 3: return hostile.pick(["true", "false", "null"])
        default:
            var number = hostile.chance(30) ? "-" : ""
            number += hostile.chance(20) ? "0" : String(UInt64.random(in: 1...UInt64.max, using: &hostile))
            if hostile.chance(40) { number += "." + String(UInt32.random(in: 0...UInt32.max, using: &hostile)) }
            if hostile.chance(30) {
                number += hostile.pick(["e", "E"]) + hostile.pick(["", "+", "-"]) + String(Int.random(in: 0...16_000, using: &hostile))
            }
            return number
        }
    }

    static func string(_ hostile: inout Hostile) -> String {
        let pieces = ["a", "key", "é", "😀", "\u{7F}", "\u{2028}", "\\\"", "\\\\", "\\/", "\\b", "\\f", "\\n", "\\r", "\\t",
                      "\\u00e9", "\\uD83D\\uDE00", "\\u001f", "\\uFFFF", " ", "error", "message"]
        return "\"" + (0..<Int.random(in: 0...6, using: &hostile)).map { _ in hostile.pick(pieces) }.joined() + "\""
    }

    static let jsonWords = ["{", "}", "[", "]", ",", ":", "\"", "\\", "\\u", "\\ud800", "\\udc00", "\\u0000", "true", "tru", "null",
                            "-", "0", "01", "1.", ".5", "1e", "1e131073", "1e-16384", "\u{FEFF}", "\0", "\u{1F}", "é"]

    func testValidatorNeverTrapsAndAcceptsWhatItShould() {
        var fixed: [[UInt8]] = [[], [0xEF, 0xBB, 0xBF], [0xC3], [0x22, 0xED, 0xA0, 0x80, 0x22], [0x22, 0xF4, 0x90, 0x80, 0x80, 0x22]]
        for depth in [511, 512, 513, 100_000] {
            fixed.append(Array((String(repeating: "[", count: depth) + String(repeating: "]", count: depth)).utf8))
            fixed.append(Array(String(repeating: "{\"a\":", count: depth).utf8))
        }
        fixed.append(Array(("[" + String(repeating: "9", count: 200_000) + "]").utf8))
        fixed.append(Array(("[1e" + String(repeating: "9", count: 10_000) + "]").utf8))
        Fuzz.run(self, "JSONText.isValid", fixed: fixed, bytes: { $0 }, generate: { hostile in
            switch Int.random(in: 0..<3, using: &hostile) {
            case 0: return hostile.bytes(maxCount: 200)
            case 1: return Array(hostile.mutate(Self.document(&hostile, depth: 0), Self.jsonWords).utf8)
            default: return Array(hostile.text(Self.jsonWords, maxPieces: 20).utf8)
            }
        }) { bytes in
            _ = JSONText.isValid(bytes)
        }
    }

    /// Generated documents are accepted; every proper prefix of an object or array is not (a body
    /// cut short must never pass for the app's answer).
    func testDocumentsAcceptedAndTheirPrefixesRefused() {
        var prefixes = 0
        Fuzz.run(self, "JSONText.isValid (documents)", fixed: ["{}", "[]", #"{"a":[1,{"b":null}]}"#], generate: { hostile in
            hostile.pick(["{", "["]) == "{" ? "{\"k\":" + Self.document(&hostile, depth: 1) + "}" : "[" + Self.document(&hostile, depth: 1) + "]"
        }) { document in
            let bytes = Array(document.utf8)
            XCTAssertTrue(JSONText.isValid(bytes), document)
            for end in stride(from: 0, to: bytes.count, by: max(1, bytes.count / 8)) {
                prefixes += 1
                XCTAssertFalse(JSONText.isValid(Array(bytes[..<end])), "prefix \(end) of \(document)")
            }
        }
        XCTAssertGreaterThan(prefixes, 0)
    }

    func testErrorFieldNeverTraps() {
        var fixed: [[UInt8]] = []
        for depth in [100, 511, 512, 513, 5_000, 100_000] {
            fixed.append(Array(("{\"error\":" + String(repeating: "[", count: depth) + String(repeating: "]", count: depth) + "}").utf8))
            fixed.append(Array(("{\"error\":" + String(repeating: "{\"error\":", count: depth) + "1" + String(repeating: "}", count: depth + 1)).utf8))
        }
        fixed.append(Array(#"{"error":"\u0000\ud800 x"}"#.utf8))
        fixed.append(Array(#"{"error":1e99999}"#.utf8))
        Fuzz.run(self, "JSONText.errorField", fixed: fixed, bytes: { $0 }, generate: { AnswerFuzzTests.hostileBody(&$0) }) { bytes in
            _ = JSONText.errorField(bytes)
        }
    }

    /// Any text (an app's error message) quotes to a JSON string jsonb accepts, which reads back
    /// as the text without NUL.
    func testQuoteRoundTrips() {
        let decoder = JSONDecoder()
        Fuzz.run(self, "JSONText.quote", fixed: Hostile.hostilePieces, generate: { hostile in
            hostile.chance(50) ? hostile.text(Hostile.hostilePieces) : hostile.byteString(maxCount: 100)
        }) { text in
            let quoted = JSONText.quote(text)
            XCTAssertTrue(JSONText.isValid(Array(quoted.utf8)), quoted)
            XCTAssertEqual(try? decoder.decode(String.self, from: Data(quoted.utf8)), text.replacingOccurrences(of: "\0", with: ""))
        }
    }
}
