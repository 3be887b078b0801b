import Foundation
import XCTest
@testable import ProcessJobsCore

final class OutcomeDocumentTests: XCTestCase {
    private func job(id: String = "j1", previous: String? = nil) -> ClaimedJob {
        ClaimedJob(id: id, type: "generate-image", retryCount: 0, maxRetries: 3, claimedAt: "2024-05-01 10:00:00.123456+00",
                   previousProcessedAt: previous, body: "{}", payloadType: "object")
    }

    private func encode(_ outcome: Outcome, previous: String? = nil) -> String {
        OutcomeDocument.encode([PendingOutcome(job: job(previous: previous), outcome: outcome)])
    }

    private let head = #"{"id":"j1","claimed_at":"2024-05-01 10:00:00.123456+00""#

    func testShapePerAction() {
        let cases: [(outcome: Outcome, previous: String?, tail: String)] = [
            (.complete(result: #"{"url":"https://x/y.png","n":[1,2]}"#), nil,
             #","action":"complete","previous_processed_at":null,"result":{"url":"https://x/y.png","n":[1,2]}}"#),
            (.complete(result: nil), nil, #","action":"complete","previous_processed_at":null,"result":null}"#),
            (.complete(result: #""text""#), nil, #","action":"complete","previous_processed_at":null,"result":"text"}"#),
            (.retry(error: "HTTP 503", delay: 30), nil,
             #","action":"retry","previous_processed_at":null,"error":"HTTP 503","delay":30.000}"#),
            (.fail(error: "bad payload"), nil, #","action":"fail","previous_processed_at":null,"error":"bad payload","sent":false}"#),
            (.release(delay: nil), nil, #","action":"release","previous_processed_at":null}"#),
            (.release(delay: 10), "2024-04-30 09:00:00+00",
             #","action":"release","previous_processed_at":"2024-04-30 09:00:00+00","delay":10.000}"#),
        ]
        for (outcome, previous, tail) in cases {
            XCTAssertEqual(encode(outcome, previous: previous), "[" + head + tail + "]", "\(outcome)")
        }
    }

    func testSeveralOutcomes() throws {
        XCTAssertEqual(OutcomeDocument.encode([]), "[]")
        let document = OutcomeDocument.encode([
            PendingOutcome(job: job(id: "a"), outcome: .complete(result: nil), httpStatus: 200, seconds: 0.1),
            PendingOutcome(job: job(id: "b"), outcome: .fail(error: "x")),
            PendingOutcome(job: job(id: "c"), outcome: .release(delay: nil)),
        ])
        let parsed = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(document.utf8)) as? [[String: Any]])
        XCTAssertEqual(parsed.map { $0["id"] as? String }, ["a", "b", "c"])
        XCTAssertEqual(parsed.map { $0["action"] as? String }, ["complete", "fail", "release"])
    }

    func testAFailureSaysWhetherItsRequestWasSent() throws {
        let document = OutcomeDocument.encode([
            PendingOutcome(job: job(id: "a"), outcome: .fail(error: "HTTP 404"), httpStatus: 404, seconds: 0.2),
            PendingOutcome(job: job(id: "b"), outcome: .fail(error: "payload is not a JSON object")),
        ])
        let parsed = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(document.utf8)) as? [[String: Any]])
        XCTAssertEqual(parsed.map { $0["sent"] as? Bool }, [true, false])
    }

    func testDelaysAreFixedPointSecondsWithThreeDecimals() {
        let cases: [(delay: Double, text: String)] = [
            (0, "0.000"), (0.001, "0.001"), (0.0004, "0.000"), (0.05, "0.050"), (0.1, "0.100"), (1.5, "1.500"),
            (12.3456, "12.346"), (30, "30.000"), (123.4, "123.400"), (3600, "3600.000"), (1e9, "1000000000.000"),
            (-2, "0.000"),
        ]
        for (delay, text) in cases {
            XCTAssertTrue(encode(.retry(error: "e", delay: delay)).hasSuffix(#","delay":\#(text)}]"#), "\(delay)")
            XCTAssertTrue(encode(.release(delay: delay)).hasSuffix(#","delay":\#(text)}]"#), "\(delay)")
        }
    }

    func testStringsAreEscaped() throws {
        let error = "say \"hi\" \\ C:\\path\nline\ttab\rcr\u{1}\u{8}\u{C}\u{1F} é 日本 😀 \u{0}end"
        let document = encode(.fail(error: error))
        XCTAssertTrue(document.contains(
            #""error":"say \"hi\" \\ C:\\path\nline\ttab\rcr\u0001\u0008\u000c\u001f é 日本 😀 end""#), document)
        XCTAssertFalse(document.unicodeScalars.contains { $0.value < 0x20 }, "no raw control characters")

        let parsed = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(document.utf8)) as? [[String: Any]])
        XCTAssertEqual(parsed.first?["error"] as? String, error.replacingOccurrences(of: "\u{0}", with: ""))
    }

    func testIdentifiersAreEscapedToo() throws {
        let odd = ClaimedJob(id: #"a"b\c"#, type: "t", retryCount: 0, maxRetries: 0, claimedAt: "x\ny",
                             previousProcessedAt: #"p"q"#, body: nil, payloadType: "null")
        let document = OutcomeDocument.encode([PendingOutcome(job: odd, outcome: .release(delay: 1))])
        XCTAssertEqual(document, #"[{"id":"a\"b\\c","claimed_at":"x\ny","action":"release","previous_processed_at":"p\"q","delay":1.000}]"#)
        XCTAssertNoThrow(try JSONSerialization.jsonObject(with: Data(document.utf8)))
    }

    func testActionNames() {
        XCTAssertEqual(Outcome.complete(result: nil).action, "complete")
        XCTAssertEqual(Outcome.retry(error: "", delay: 0).action, "retry")
        XCTAssertEqual(Outcome.fail(error: "").action, "fail")
        XCTAssertEqual(Outcome.release(delay: nil).action, "release")
    }
}

/// Outcomes written to a database not in UTF-8: what the encoding cannot hold becomes \u{hex} text.
final class OutcomeDocumentEncodingTests: XCTestCase {
    private func fitted(_ json: String, _ encoding: String) -> String {
        OutcomeDocument.fitted(json, serverEncoding: encoding)
    }

    func testUTF8KeepsEverything() {
        let json = #"{"a":"café 😀 \u00e9"}"#
        XCTAssertEqual(fitted(json, "UTF8"), json)
    }

    func testSQLASCIIKeepsOnlyASCII() {
        XCTAssertEqual(fitted(#"{"a":"café"}"#, "SQL_ASCII"), #"{"a":"caf\\u{e9}"}"#)
        XCTAssertEqual(fitted(#"{"a":"caf\u00e9"}"#, "SQL_ASCII"), #"{"a":"caf\\u{e9}"}"#)
        XCTAssertEqual(fitted(#"{"a":"😀"}"#, "SQL_ASCII"), #"{"a":"\\u{1f600}"}"#)
        XCTAssertEqual(fitted(#"{"a":"\ud83d\ude00"}"#, "SQL_ASCII"), #"{"a":"\\u{1f600}"}"#)
        XCTAssertEqual(fitted(#"{"a":"\u0041\n\"x\\"}"#, "SQL_ASCII"), #"{"a":"\u0041\n\"x\\"}"#, "ASCII escapes stay")
    }

    func testLATIN1KeepsItsRange() {
        XCTAssertEqual(fitted(#"{"a":"café ☕"}"#, "LATIN1"), #"{"a":"café \\u{2615}"}"#)
        XCTAssertEqual(fitted(#"{"a":"caf\u00e9"}"#, "LATIN1"), #"{"a":"caf\u00e9"}"#)
    }

    func testResultStaysValidJSONWithTheSameStructure() throws {
        let json = #"{"k€y":["é",{"x":"\ud83d\ude00 \\u00e9"}],"n":1}"#
        let fitted = fitted(json, "SQL_ASCII")
        XCTAssertTrue(fitted.unicodeScalars.allSatisfy { $0.isASCII }, fitted)
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(fitted.utf8)) as? [String: Any])
        XCTAssertEqual(object["k\\u{20ac}y"] as? [Any] != nil, true, fitted)
        XCTAssertEqual(object["n"] as? Int, 1)
    }

    func testTheTickDocumentIsFitted() {
        let job = ClaimedJob(id: "j1", type: "generate-image", retryCount: 0, maxRetries: 3, claimedAt: "t",
                             previousProcessedAt: nil, body: "{}", payloadType: "object")
        let document = OutcomeDocument.encode([PendingOutcome(job: job, outcome: .fail(error: "Erreur: café"))], serverEncoding: "SQL_ASCII")
        XCTAssertTrue(document.contains(#""error":"Erreur: caf\\u{e9}""#), document)
    }
}
