import Foundation
import XCTest
@testable import ProcessJobsCore

final class JSONOutTests: XCTestCase {
    func testRendersIndentedInKeyOrder() {
        let document = JSONOut.object([
            ("b", .int(1)), ("a", .array([.string("x\"y"), .null, .bool(true)])), ("n", .number(1.5)),
            ("empty", .object([])), ("none", .array([])), ("inf", .number(.infinity)),
        ])
        XCTAssertEqual(document.rendered(), """
            {
              "b": 1,
              "a": [
                "x\\"y",
                null,
                true
              ],
              "n": 1.5,
              "empty": {},
              "none": [],
              "inf": null
            }

            """)
    }

    func testOutputParses() throws {
        let document = JSONOut.object([("text", .string("line\nbreak \u{1} ☃")), ("big", .number(97_995_106.235))])
        let parsed = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(document.rendered().utf8)) as? [String: Any])
        XCTAssertEqual(parsed["text"] as? String, "line\nbreak \u{1} ☃")
        XCTAssertEqual(parsed["big"] as? Double, 97_995_106.235)
    }
}
