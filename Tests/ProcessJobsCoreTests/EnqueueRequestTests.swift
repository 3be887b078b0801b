import XCTest
@testable import ProcessJobsCore

final class EnqueueRequestTests: XCTestCase {
    func testAcceptsAnObjectPayload() throws {
        let request = try EnqueueRequest(type: "generate-image", payload: #" {"projectId":"p1","n":[1,2]} "#, userId: "u1",
                                         maxRetries: 5, runAt: "+5m")
        XCTAssertEqual(request.type, "generate-image")
        XCTAssertEqual(request.userId, "u1")
        XCTAssertEqual(request.maxRetries, 5)
        XCTAssertEqual(request.runAt, RunAt(kind: .relative, seconds: 300))
        XCTAssertNoThrow(try EnqueueRequest(type: "t", payload: "{}", userId: nil, maxRetries: nil, runAt: nil))
    }

    func testRejectsPayloadsThatAreNotOneObject() {
        let cases: [(String, String)] = [
            ("[1]", "it is an array"), (#""text""#, "it is a string"), ("42", "it is a number"), ("null", "it is null"),
            ("true", "it is a boolean"), ("", "not valid JSON"), ("{", "not valid JSON"), ("{} {}", "not valid JSON"),
            (#"{"a":"\u0000"}"#, "not valid JSON"), ("{'a':1}", "not valid JSON"),
        ]
        for (payload, expected) in cases {
            XCTAssertThrowsError(try EnqueueRequest(type: "t", payload: payload, userId: nil, maxRetries: nil, runAt: nil), payload) { error in
                XCTAssertTrue("\(error)".contains(expected), "\(payload): \(error)")
                XCTAssertTrue("\(error)".contains("--payload"), "\(error)")
            }
        }
    }

    func testRejectsBadFields() {
        let cases: [(type: String, userId: String?, maxRetries: Int?, runAt: String?, expected: String)] = [
            ("", nil, nil, nil, "job type"), ("has space", nil, nil, nil, "job type"), ("t", "", nil, nil, "--user-id"),
            ("t", "a\nb", nil, nil, "--user-id"), ("t", nil, -1, nil, "--max-retries"), ("t", nil, 1001, nil, "--max-retries"),
            ("t", nil, nil, "soon", "--run-at"),
        ]
        for c in cases {
            XCTAssertThrowsError(try EnqueueRequest(type: c.type, payload: "{}", userId: c.userId, maxRetries: c.maxRetries, runAt: c.runAt)) { error in
                XCTAssertTrue("\(error)".contains(c.expected), "\(error)")
            }
        }
    }
}
