import XCTest
@testable import ProcessJobsCore

final class VerdictTests: XCTestCase {
    private func classify(_ status: Int, _ body: String = "", truncated: Bool = false,
                          headers: ResponseHeaders = .init(), now: Double = 0) -> Verdict {
        Verdict.classify(.response(Response(status: status, body: Array(body.utf8), truncated: truncated, headers: headers)),
                         now: now)
    }

    private func message(_ status: Int, _ body: String) -> String {
        Verdict.errorMessage(Response(status: status, body: Array(body.utf8)))
    }

    // MARK: 2xx

    func testSuccessKeepsJSONBody() {
        let cases: [(status: Int, body: String, result: String?)] = [
            (200, #"{"ok":true}"#, #"{"ok":true}"#),
            (201, "[1,2]", "[1,2]"),
            (202, #""queued""#, #""queued""#),
            (200, " {\"a\": {\"b\": null}}\n", " {\"a\": {\"b\": null}}\n"),
            (299, "{}", "{}"),
            // Not JSON: completed all the same, with no result.
            (200, "", nil),
            (204, "", nil),
            (200, "OK", nil),
            (200, "<html>done</html>", nil),
            (200, #"{"ok":true"#, nil),
            // jsonb refuses \u0000.
            (200, #"{"a":"x\u0000y"}"#, nil),
        ]
        for (status, body, result) in cases {
            XCTAssertEqual(classify(status, body), .success(result: result), "\(status) \(body)")
        }
    }

    func testSuccessWithTruncatedBodyHasNoResult() {
        // Cut bodies can still parse ("12345" cut to "123", trailing spaces cut): never store them.
        XCTAssertEqual(classify(200, "123", truncated: true), .success(result: nil))
        XCTAssertEqual(classify(200, #"{"ok":true}"#, truncated: true), .success(result: nil))
        XCTAssertEqual(classify(200, "{\"ok\":tr", truncated: true), .success(result: nil))
    }

    // MARK: transient

    func testTransientStatuses() {
        for status in [408, 425, 429, 500, 502, 503, 504] {
            XCTAssertEqual(classify(status), .transient(error: "HTTP \(status)", retryAfter: nil), "\(status)")
            XCTAssertEqual(classify(status, #"{"error":"busy"}"#), .transient(error: "busy", retryAfter: nil), "\(status)")
            XCTAssertEqual(classify(status, headers: .init(retryAfter: "120")),
                           .transient(error: "HTTP \(status)", retryAfter: 120), "\(status)")
            XCTAssertEqual(classify(status, headers: .init(retryAfter: "Sun, 06 Nov 1994 08:50:37 GMT",
                                                           date: "Sun, 06 Nov 1994 08:49:37 GMT")),
                           .transient(error: "HTTP \(status)", retryAfter: 60), "\(status)")
            XCTAssertEqual(classify(status, headers: .init(retryAfter: "Sun, 06 Nov 1994 08:50:37 GMT"), now: 784_111_777),
                           .transient(error: "HTTP \(status)", retryAfter: 60), "\(status)")
            XCTAssertEqual(classify(status, headers: .init(retryAfter: "later")),
                           .transient(error: "HTTP \(status)", retryAfter: nil), "\(status)")
        }
    }

    /// 429 and 503 ask to slow down; a reverse proxy's 502 and 504 (the app down behind it) too.
    func testStatusesThatPauseTheRoute() {
        for status in [429, 502, 503, 504] { XCTAssertTrue(Verdict.pausesRoute(status: status), "\(status)") }
        for status in [200, 400, 401, 408, 425, 500, 501, 505, 599] { XCTAssertFalse(Verdict.pausesRoute(status: status), "\(status)") }
    }

    /// Hostile header values never trap and never become a delay: a date no clock can reach is absent.
    func testHostileRetryAfterAndDateAreAbsent() {
        let absurd = "Sun, 06 Nov 300000000000 08:49:37 GMT"
        XCTAssertEqual(classify(503, headers: .init(retryAfter: absurd)), .transient(error: "HTTP 503", retryAfter: nil))
        XCTAssertEqual(classify(429, headers: .init(retryAfter: "Sun, 06 Nov 1994 08:50:37 GMT", date: absurd), now: 784_111_777),
                       .transient(error: "HTTP 429", retryAfter: 60))
        XCTAssertEqual(classify(503, headers: .init(retryAfter: String(repeating: "9", count: 5000))),
                       .transient(error: "HTTP 503", retryAfter: nil))
    }

    func testOtherServerErrorsAreTransient() {
        for status in [501, 505, 520, 599] {
            XCTAssertEqual(classify(status, "oops"), .transient(error: "HTTP \(status): oops", retryAfter: nil), "\(status)")
        }
    }

    // MARK: permanent

    func testClientErrorsArePermanentWithTheAppsMessage() {
        for status in [400, 404, 405, 409, 410, 413, 415, 418, 422, 451, 499] {
            XCTAssertEqual(classify(status, #"{"error":"bad payload"}"#), .permanent(error: "bad payload"), "\(status)")
            XCTAssertEqual(classify(status), .permanent(error: "HTTP \(status)"), "\(status)")
            // Retry-After does not make a permanent error transient.
            XCTAssertEqual(classify(status, "nope", headers: .init(retryAfter: "5")), .permanent(error: "HTTP \(status): nope"))
        }
    }

    func testTokenRejected() {
        for status in [401, 403] {
            XCTAssertEqual(classify(status), .tokenRejected(status: status))
            XCTAssertEqual(classify(status, #"{"error":"invalid JWT"}"#, headers: .init(retryAfter: "5")),
                           .tokenRejected(status: status))
        }
    }

    func testRedirectsArePermanentAndNameTheLocation() {
        for status in [301, 302, 303, 307, 308] {
            guard case .permanent(let error) = classify(status, headers: .init(location: "https://new.example/api/x")) else {
                return XCTFail("\(status) should be permanent")
            }
            XCTAssertTrue(error.hasPrefix("HTTP \(status)"), error)
            XCTAssertTrue(error.contains("https://new.example/api/x"), error)
            XCTAssertTrue(error.contains("point the app URL at the final address"), error)

            guard case .permanent(let bare) = classify(status) else { return XCTFail("\(status) should be permanent") }
            XCTAssertTrue(bare.hasPrefix("HTTP \(status)"), bare)
            XCTAssertFalse(bare.contains(" to "), bare)
        }
    }

    /// A Location of any length makes a message of bounded length.
    func testLongLocationIsCut() {
        let location = "https://new.example/" + String(repeating: "x", count: 100_000)
        guard case .permanent(let error) = classify(307, headers: .init(location: location)) else { return XCTFail("not permanent") }
        XCTAssertLessThanOrEqual(error.count, Verdict.maxErrorLength)
        XCTAssertTrue(error.hasSuffix("not followed for a POST; point the app URL at the final address"), error)
    }

    // MARK: transport failures

    func testTransportFailures() {
        XCTAssertEqual(Verdict.classify(.failure(.notSent("connection refused")), now: 0), .notSent(error: "connection refused"))
        XCTAssertEqual(Verdict.classify(.failure(.timedOut("timed out after 120s")), now: 0),
                       .transient(error: "timed out after 120s", retryAfter: nil))
        XCTAssertEqual(Verdict.classify(.failure(.broken("connection reset")), now: 0),
                       .transient(error: "connection reset", retryAfter: nil))
    }

    // MARK: error messages

    func testErrorMessageExtraction() {
        let cases: [(body: String, expected: String)] = [
            (#"{"error":"x"}"#, "x"),
            (#"{"error":{"message":"y"}}"#, "y"),
            (#"{"message":"z"}"#, "z"),
            (#"{"error":"x","message":"z"}"#, "x"),
            (#"{"error":{"code":"E1"},"message":"z"}"#, "z"),
            (#"  {"error":"spaced"}"#, "spaced"),
            (#"{"error":"caf\u00e9"}"#, "café"),
            // Present but useless: the body speaks instead.
            (#"{"error":""}"#, #"HTTP 500: {"error":""}"#),
            (#"{"error":42}"#, #"HTTP 500: {"error":42}"#),
            (#"[{"error":"x"}]"#, #"HTTP 500: [{"error":"x"}]"#),
            // Not JSON: the start of the body, newlines and tabs folded.
            ("Internal Server Error", "HTTP 500: Internal Server Error"),
            ("Internal Server Error\nat line 3\r\nmore\tstuff\n", "HTTP 500: Internal Server Error at line 3 more stuff"),
            ("  padded  ", "HTTP 500: padded"),
            ("", "HTTP 500"),
            (" \n\r\n ", "HTTP 500"),
        ]
        for (body, expected) in cases {
            XCTAssertEqual(message(500, body), expected, body)
        }
        XCTAssertEqual(message(422, ""), "HTTP 422")
    }

    func testLongMessagesAreCapped() {
        let long = String(repeating: "a", count: 5000)
        XCTAssertEqual(message(500, #"{"error":"\#(long)"}"#), String(repeating: "a", count: Verdict.maxErrorLength))
        XCTAssertEqual(message(500, #"{"message":"\#(long)"}"#).count, Verdict.maxErrorLength)
        // A non-JSON body contributes its first 200 bytes.
        XCTAssertEqual(message(500, long), "HTTP 500: " + String(repeating: "a", count: 200))
    }
}
