import Foundation
import PostgresClient
@testable import ProcessJobsCore
import XCTest

/// Fault 8: answers with hostile headers — HTTP dates no clock reaches, numbers past Int, negative
/// delays, a 200 KiB header line, 400 KiB of headers, a 50 KB Location. Runs follow each other as
/// a timer would start them. No run may crash or exit non-zero, each hostile answer costs its job
/// exactly the one attempt it was, and no job is sent more often than that.
final class FaultSuiteHostileHeadersTests: IntegrationTestCase {
    func testHostileHeaders() throws {
        let app = try startApp()
        let absurd = "Sun, 06 Nov 300000000000 08:49:37 GMT"
        let kinds: [(name: String, action: String, fails: Bool)] = [
            ("retry-after-year", #"{"status": 503, "headers": {"Retry-After": "\#(absurd)"}}"#, false),
            ("date-year", #"{"status": 429, "headers": {"Retry-After": "1", "Date": "\#(absurd)"}}"#, false),
            ("retry-after-int-max", #"{"status": 503, "headers": {"Retry-After": "9223372036854775807"}}"#, false),
            ("retry-after-negative", #"{"status": 503, "headers": {"Retry-After": "-1"}}"#, false),
            ("retry-after-30-digits", #"{"status": 502, "headers": {"Retry-After": "\#(String(repeating: "9", count: 30))"}}"#, false),
            ("date-garbage", #"{"status": 504, "headers": {"Date": "garbage", "Retry-After": "Sun, 06 Nov 1994 08:49:37 GMT"}}"#, false),
            ("header-200KiB", #"{"status": 200, "headers": {"X-Huge": "\#(String(repeating: "a", count: 200 * 1024))"}}"#, false),
            ("headers-400KiB", #"{"status": 200, "headers": {\#((0..<40).map { #""X-H\#($0)": "\#(String(repeating: "b", count: 10 * 1024))""# }.joined(separator: ","))}}"#, false),
            ("location-50KB", #"{"redirect": "https://x.example/\#(String(repeating: "l", count: 50_000))", "status": 307}"#, true),
            ("success-absurd", #"{"status": 200, "headers": {"Retry-After": "\#(absurd)", "Date": "\#(absurd)"}}"#, false),
        ]
        let perKind = 8
        var kindOf: [String: Int] = [:]
        var rules: [String] = []
        let types = Routes.defaults.keys.sorted()
        for (index, kind) in kinds.enumerated() {
            for copy in 0..<perKind {
                let id = try db.insertJob(types[(index + copy) % types.count], payload: #"{"projectId":"h\#(index)-\#(copy)"}"#)
                kindOf[id] = index
                rules.append(#"{"match": {"jobId": "\#(id)"}, "times": 1, "action": \#(kind.action)}"#)
            }
        }
        try app.setRules("[" + rules.joined(separator: ",") + "]")
        let total = kinds.count * perKind
        let started = Date()
        let logs = try runUntilSettled(["run", "--concurrency", "16", "--backoff-base", "200ms", "--backoff-max", "1s", "--log-format", "json"],
                                       environment: environment(app: app), timeout: 120)
        let seconds = Date().timeIntervalSince(started)

        let census = try Census(db)
        XCTAssertEqual(census.processing, 0)
        XCTAssertEqual(census.completed + census.failed, total, "\(census)")
        XCTAssertEqual(census.failed, perKind, "only the redirects fail: \(census)")
        let requests = Fault.byJob(try app.requests())
        var duplicates = 0
        for row in try db.jobs() {
            let kind = kinds[kindOf[row.id]!]
            let sent = requests[row.id] ?? []
            // A transient hostile answer is one attempt; the next one succeeds. A success or a
            // redirect is the only one.
            let expected = kind.fails || kind.name == "success-absurd" ? 1 : 2
            XCTAssertEqual(sent.count, expected, "\(kind.name) \(row.id)")
            duplicates += max(0, sent.count - expected)
            XCTAssertEqual(row.status, kind.fails ? "failed" : "completed", "\(kind.name): \(row.errorMessage ?? "")")
            if kind.name.hasPrefix("header") {
                XCTAssertEqual(sent.first?.status, 200, "the app really answered")
            }
        }
        let crashes = logs.filter { Fault.summary($0) == nil }.count
        XCTAssertEqual(crashes, 0, "every run ended with its summary line")
        Fault.figure("hostile-headers: \(total) jobs, \(kinds.count) kinds of hostile header (HTTP dates in year 3e11, Int.max and 30-digit "
                     + "Retry-After, negative, garbage Date, a 200 KiB header, 400 KiB of headers, a 50 KB Location), "
                     + "\(requests.values.map(\.count).reduce(0, +)) requests, \(logs.count) runs, \(crashes) crashes, "
                     + "\(duplicates) extra requests, \(census.completed) completed, \(census.failed) failed (the redirects), "
                     + "0 left in processing, \(Fault.seconds(seconds))")
    }
}
