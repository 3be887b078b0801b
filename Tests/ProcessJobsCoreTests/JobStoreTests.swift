import XCTest
@testable import ProcessJobsCore

final class JobStoreTests: XCTestCase {
    func testPostgresArrayLiteral() {
        let cases: [(items: [String], literal: String)] = [
            ([], "{}"),
            ([""], #"{""}"#),
            (["a"], #"{"a"}"#),
            (["generate-image", "generate-aplus"], #"{"generate-image","generate-aplus"}"#),
            (["a\"b"], #"{"a\"b"}"#),
            (["a\\b"], #"{"a\\b"}"#),
            (["\\\""], #"{"\\\""}"#),
            (["a,b", "{c}", " d ", "NULL"], #"{"a,b","{c}"," d ","NULL"}"#),
            (["10", "2"], #"{"10","2"}"#),
            (["é"], #"{"é"}"#),
        ]
        for (items, literal) in cases {
            XCTAssertEqual(PostgresArray.literal(items), literal, "\(items)")
        }
    }
}
