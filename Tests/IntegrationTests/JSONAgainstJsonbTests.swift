import Foundation
import PostgresClient
@testable import ProcessJobsCore
import XCTest

/// The answer validator against the real jsonb: whatever it calls JSON, the server must take,
/// because one refused value fails the whole tick statement and every outcome in it.
final class JSONAgainstJsonbTests: IntegrationTestCase {
    func testEveryAcceptedDocumentIsAcceptedByJsonb() throws {
        var documents = [
            "[1,]", #"{"a":1,}"#, "\u{FEFF}[]", #"["\u0000"]"#, #"["\ud800"]"#, #"["\udc00x"]"#, #"["\ud800\u0041"]"#,
            #"["\ud83d\ude00"]"#, "[1e308]", "[-0]", "[1E+5]", "[123456789012345678901234567890]", #"{"a":1,"a":2}"#,
            #"["\u2028"]"#, "[\"\u{7F}\"]", "[0.0]", "[-0.0e-0]", "true", "null", #""x""#, "{}", "[]",
            String(repeating: "[", count: 512) + String(repeating: "]", count: 512),
        ]
        for exponent in [-100_000, -16_385, -16_384, -16_383, -16_382, -400, 400, 100_000, 131_070, 131_071, 131_072, 131_073] {
            for mantissa in ["1", "9.9", "1.5", "100", "0.5", "0", "-7.25"] {
                documents.append("[\(mantissa)e\(exponent)]")
            }
        }
        for digits in [16_382, 16_383, 16_384] {
            documents.append("[0.\(String(repeating: "0", count: digits - 1))1]")
            documents.append("[1.\(String(repeating: "5", count: digits))]")
        }
        var accepted = 0
        for document in documents where JSONText.isValid(Array(document.utf8)) {
            accepted += 1
            XCTAssertNoThrow(try db.query("SELECT $1::jsonb IS NOT NULL", [document]),
                             "called JSON but refused by jsonb: \(document.prefix(60))")
        }
        XCTAssertGreaterThan(accepted, documents.count / 3)
    }
}
