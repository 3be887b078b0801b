import Foundation
import PostgresClient
@testable import ProcessJobsCore
import XCTest

/// Payloads the app may enqueue that are big, deep, odd or not objects: each is sent as stored or
/// fails with a clear error, and none is lost. (OutcomeTests covers arrays, strings, numbers and
/// null, and the row's user_id winning over a payload's userId.)
final class BadPayloadTests: IntegrationTestCase {
    /// The body a run must send for a row: the payload as PostgreSQL prints it, with the row's userId.
    private func expectedBody(_ id: String) throws -> String {
        try db.query("""
            SELECT (CASE WHEN user_id IS NULL THEN payload ELSE payload || jsonb_build_object('userId', user_id) END)::text
            FROM job_queue WHERE id = $1
            """, [id]).values[0][0]!
    }

    func testFiveMebibytePayloadIsSentWhole() throws {
        let app = try startApp()
        let blob = String(repeating: "0123456789abcdef", count: 5 * 1024 * 1024 / 16)
        let id = try db.insertJob("generate-image", payload: #"{"projectId":"p","imageType":"main","blob":"\#(blob)"}"#)
        let report = try runEngine(app: app)
        XCTAssertEqual(report.summary.completed, 1)
        XCTAssertEqual(try db.job(id).status, "completed")
        let request = try XCTUnwrap(app.requests(forJob: id).first)
        XCTAssertGreaterThan(request.body.utf8.count, 5 * 1024 * 1024)
        XCTAssertEqual(request.body, try expectedBody(id), "sent byte for byte as stored")
    }

    /// jsonb takes deep nesting up to the server's stack (max_stack_depth, 2MB by default: more
    /// than 10,000 levels, fewer than 100,000). What jsonb took, the run sends as it is; what it
    /// refused never entered the queue (the app's INSERT failed), so there is nothing to lose.
    func testDeeplyNestedPayloadsAreSentIntact() throws {
        let app = try startApp()
        var ids: [String] = []
        for depth in [1_000, 10_000] {
            let deep = String(repeating: "[", count: depth) + "1" + String(repeating: "]", count: depth)
            ids.append(try db.insertJob("generate-image", payload: #"{"projectId":"p","deep":\#(deep)}"#))
        }
        // The stand-in app (Python) cannot parse 1,000 levels; it answers these two by rule.
        try app.setRules("[" + ids.map { #"{"match": {"jobId": "\#($0)"}, "action": {"status": 200, "body": {"success": true}}}"# }
            .joined(separator: ",") + "]")
        _ = try runEngine(app: app)
        for id in ids {
            XCTAssertEqual(try db.job(id).status, "completed")
            XCTAssertEqual(try app.requests(forJob: id).first?.body, try expectedBody(id))
        }

        let tooDeep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        XCTAssertThrowsError(try db.insertJob("generate-image", payload: #"{"projectId":"p","deep":\#(tooDeep)}"#)) { error in
            XCTAssertEqual((error as? PostgresError)?.sqlState, "54001", "stack depth limit exceeded: \(error)")
        }
    }

    func testKeysWithUnicodeAndControlCharactersArriveAsStored() throws {
        let app = try startApp()
        let payload = #"{"projectId":"p","ключ 🔑":"значение","tab\there":"a\u0001b","quote\"key":"back\\slash","#
            + #""e\u0301":"combining","\u2028":"line separator","":"empty key","\u007f":"del","日本":{"ネスト":[1,"２"]}}"#
        let id = try db.insertJob("generate-image", payload: payload)
        _ = try runEngine(app: app)
        XCTAssertEqual(try db.job(id).status, "completed")
        let request = try XCTUnwrap(app.requests(forJob: id).first)
        XCTAssertEqual(request.body, try expectedBody(id))
        XCTAssertEqual(request.json["ключ 🔑"] as? String, "значение")
        XCTAssertEqual(request.json["tab\there"] as? String, "a\u{1}b")
        XCTAssertEqual(request.json["userId"] as? String, "user-1")

        // NUL cannot be stored at all: jsonb refuses \u0000, so such a job never enters the queue.
        XCTAssertThrowsError(try db.insertJob("generate-image", payload: #"{"projectId":"p","nul\u0000key":1}"#)) { error in
            XCTAssertEqual((error as? PostgresError)?.sqlState, "22P05", "\(error)")
        }
    }

    /// The row's user_id wins over a userId in the payload (OutcomeTests); with no user_id on the
    /// row there is nothing to win, and the payload's own userId goes as it is.
    func testPayloadUserIdIsKeptWhenTheRowHasNone() throws {
        let app = try startApp()
        let id = try db.insertJob("generate-aplus", payload: #"{"projectId":"p","userId":"from-payload"}"#, userId: nil)
        _ = try runEngine(app: app)
        XCTAssertEqual(try app.requests(forJob: id).first?.json["userId"] as? String, "from-payload")
    }

    func testBooleanAndEmptyPayloadsFailWithoutARequestOrAreLeftToTheApp() throws {
        let app = try startApp()
        let boolean = try db.insertJob("generate-image", payload: "true")
        let empty = try db.insertJob("generate-image", payload: "{}", userId: nil)
        _ = try runEngine(app: app)
        let row = try db.job(boolean)
        XCTAssertEqual(row.status, "failed")
        XCTAssertEqual(row.errorMessage, "payload is not a JSON object (it is a JSON boolean): the app expects an object")
        XCTAssertEqual(try app.requests(forJob: boolean).count, 0)
        // An empty object is an object: the app decides (here: 400, failed with its message).
        XCTAssertEqual(try app.requests(forJob: empty).first?.body, "{}")
        XCTAssertEqual(try db.job(empty).status, "failed")
        XCTAssertEqual(try db.job(empty).errorMessage, "Missing required fields")
    }
}
