import Foundation
import PostgresClient
@testable import ProcessJobsCore
import XCTest

/// The fuzz pass of the answer validator against the real jsonb: documents near the edges of
/// what jsonb takes (escapes, surrogates, exponents, nesting), mutated; whatever the validator
/// calls JSON the server must accept, since one refused answer fails the whole tick statement.
/// Bounded by PROCESS_JOBS_FUZZ_SECONDS (default 1) and seeded by PROCESS_JOBS_FUZZ_SEED.
final class JSONAgainstJsonbFuzzTests: IntegrationTestCase {
    static let pieces = ["{", "}", "[", "]", ",", ":", "\"", "\"a\"", "\"\\u0000\"", "\"\\ud800\"", "\"\\udc00\"", "\"\\ud83d\\ude00\"",
                         "\"\\u00e9\"", "\"\\\"\"", "\"\\/\"", "\"\\x\"", "\"é\"", "\"\u{7F}\"", "\"\u{2028}\"", "\u{FEFF}", "0", "-0",
                         "01", "1.", ".5", "1.5", "1e5", "1E+5", "1e-16383", "1.5e-16383", "1e131071", "1e131072", "9e999999",
                         String(repeating: "9", count: 1000), "true", "fals", "null", "nul", " ", "\n", "\t", "\u{0B}"]

    func testWhatTheValidatorAcceptsJsonbAccepts() {
        let seconds = ProcessInfo.processInfo.environment["PROCESS_JOBS_FUZZ_SECONDS"].flatMap(Double.init) ?? 1
        var random = SplitMix64(seed: ProcessInfo.processInfo.environment["PROCESS_JOBS_FUZZ_SEED"].flatMap { UInt64($0) } ?? 0x5EED_F022)
        let started = Date()
        var tried = 0, accepted = 0, stricter = 0
        while Date().timeIntervalSince(started) < seconds {
            var document = ""
            for _ in 0..<Int.random(in: 1...12, using: &random) {
                document += Self.pieces[Int.random(in: 0..<Self.pieces.count, using: &random)]
            }
            if Bool.random(using: &random) { document = "[" + document + "]" }
            tried += 1
            let valid = JSONText.isValid(Array(document.utf8))
            let jsonb = (try? db.query("SELECT $1::jsonb IS NOT NULL", [document])) != nil
            if valid {
                accepted += 1
                XCTAssertTrue(jsonb, "called JSON but refused by jsonb: \(document.debugDescription)")
            } else if jsonb {
                stricter += 1  // refused here, taken by jsonb: stored as a null result, never a failed statement
            }
        }
        print("fuzz JSONText.isValid against jsonb: \(tried) documents in \(String(format: "%.1f", Date().timeIntervalSince(started))) s, "
              + "\(accepted) called JSON (all taken by jsonb), \(stricter) refused here though jsonb takes them")
        XCTAssertGreaterThan(accepted, 0)
    }
}
