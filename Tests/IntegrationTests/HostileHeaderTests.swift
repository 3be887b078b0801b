import Foundation
import PostgresClient
@testable import ProcessJobsCore
import XCTest

/// Answer headers an attacker (or a broken proxy) could send: none may crash the runner or
/// cost a job more than the one attempt that got the answer.
final class HostileHeaderTests: IntegrationTestCase {
    private func rule(_ id: String, _ action: String) -> String {
        #"{"match": {"jobId": "\#(id)"}, "action": \#(action)}"#
    }

    /// A year of 3×10¹¹ in Retry-After or in Date overflowed the date arithmetic: SIGILL, no log
    /// line, every job of the batch charged again after its lease. Now such a date is no date:
    /// the answer is an ordinary 503/429 with the standard backoff.
    func testHTTPDatesWithAbsurdYearsAreIgnored() throws {
        let app = try startApp()
        let absurd = "Sun, 06 Nov 300000000000 08:49:37 GMT"
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        let inTenMinutes = formatter.string(from: Date().addingTimeInterval(600))
        let retryAfter = try db.insertJob("generate-image", payload: #"{"projectId":"a"}"#)
        let date = try db.insertJob("generate-complete-pack", payload: #"{"projectId":"b"}"#)
        let plain = try db.insertJob("generate-aplus", payload: #"{"projectId":"c"}"#)
        try app.setRules("[" + [
            rule(retryAfter, #"{"status": 503, "headers": {"Retry-After": "\#(absurd)"}}"#),
            rule(date, #"{"status": 429, "headers": {"Retry-After": "\#(inTenMinutes)", "Date": "\#(absurd)"}}"#),
        ].joined(separator: ",") + "]")
        let result = try runBinary(["run", "--log-format", "json"], environment: environment(app: app))
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(try app.requests(forJob: date).first?.status, 429, "the app really answered")
        for id in [retryAfter, date] {
            let row = try db.job(id)
            XCTAssertEqual(row.status, "pending", row.errorMessage ?? "")
            XCTAssertEqual(row.retryCount, 1, "one attempt charged")
            XCTAssertNil(row.lockedBy)
        }
        // A Retry-After that is no date: the standard backoff (30s ± 20%), as with none.
        XCTAssertGreaterThan(try db.job(retryAfter).runInSeconds, 30 * 0.8 - 5)
        XCTAssertLessThan(try db.job(retryAfter).runInSeconds, 30 * 1.2 + 1)
        // A Date that is no date: the Retry-After date measured against the host's clock.
        XCTAssertEqual(try db.job(date).runInSeconds, 600, accuracy: 5)
        XCTAssertEqual(try db.job(plain).status, "completed")
    }

    /// A header line longer than libcurl takes (100 KiB) was reported as "Out of memory
    /// (curl 27)". It is an answer that is not usable HTTP: a failed attempt, said plainly.
    func testOversizedHeaderIsAFailedAttemptSaidPlainly() throws {
        let app = try startApp()
        let id = try db.insertJob("generate-image")
        let other = try db.insertJob("generate-aplus", payload: #"{"projectId":"c"}"#)
        let huge = String(repeating: "a", count: 200 * 1024)
        try app.setRules("[\(rule(id, #"{"status": 200, "headers": {"X-Huge": "\#(huge)"}}"#))]")
        let result = try runBinary(["run", "--log-format", "json"], environment: environment(app: app))
        XCTAssertEqual(result.status, 0, result.stderr)
        let row = try db.job(id)
        XCTAssertEqual(row.status, "pending")
        XCTAssertEqual(row.retryCount, 1)
        XCTAssertTrue(row.errorMessage?.hasPrefix("the app's answer headers exceed") ?? false, row.errorMessage ?? "nil")
        XCTAssertFalse(row.errorMessage?.contains("Out of memory") ?? true, row.errorMessage ?? "nil")
        XCTAssertEqual(try db.job(other).status, "completed")
    }
}
