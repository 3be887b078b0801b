import Foundation
import PostgresClient
@testable import ProcessJobsCore
import XCTest

/// Answers from the app that are not what a job route should say: each becomes a clear outcome,
/// and none breaks the run or the other jobs' outcomes.
final class BadAnswerTests: IntegrationTestCase {
    private func rule(_ id: String, _ action: String) -> String {
        #"{"match": {"jobId": "\#(id)"}, "action": \#(action)}"#
    }

    func testNonJSONSuccessCompletesWithoutResult() throws {
        let app = try startApp()
        let id = try db.insertJob("generate-image")
        try app.setRules("[\(rule(id, #"{"nonjson": "OK, queued"}"#))]")
        _ = try runEngine(app: app)
        let row = try db.job(id)
        XCTAssertEqual(row.status, "completed")
        XCTAssertNil(row.result)
    }

    /// JSON that a lenient parser takes but jsonb refuses (a trailing comma, a byte-order mark, a
    /// number beyond numeric's scale) is not JSON: completed without result. Any of them used to
    /// fail the whole tick statement, so the run died (exit 78) and every outcome of its batch
    /// went unrecorded, to be sent again after the lease.
    func testJSONThatJsonbRefusesCompletesWithoutResultAndSparesTheBatch() throws {
        let app = try startApp()
        let bodies = [#"{\"success\":true,}"#, #"\ufeff{\"success\":true}"#, #"{\"success\":true,\"p\":1e-20000}"#]
        var odd: [String] = []
        for (index, body) in bodies.enumerated() {
            let id = try db.insertJob("generate-image", payload: #"{"projectId":"odd\#(index)"}"#)
            odd.append(id)
            try app.setRules("[" + zip(odd, bodies).map { rule($0, #"{"status": 200, "body": "\#($1)"}"#) }.joined(separator: ",") + "]")
        }
        let plain = try db.insertJob("generate-image", payload: #"{"projectId":"plain"}"#)
        let result = try runBinary(["run", "--log-format", "json"], environment: environment(app: app))
        XCTAssertEqual(result.status, 0, result.stderr)
        for id in odd + [plain] { XCTAssertEqual(try db.job(id).status, "completed") }
        for id in odd { XCTAssertNil(try db.job(id).result) }
        XCTAssertNotNil(try db.job(plain).result)
        XCTAssertEqual(try app.requests().count, 4, "each sent once")
    }

    /// A JSON answer nested deeper than 512 levels is beyond the parser's limit: completed,
    /// result null. Up to 512 it is stored.
    func testDeeplyNestedAnswer() throws {
        let app = try startApp()
        let shallow = try db.insertJob("generate-image"), deep = try db.insertJob("generate-image")
        func nested(_ depth: Int) -> String { String(repeating: "[", count: depth) + String(repeating: "]", count: depth) }
        try app.setRules("[\(rule(shallow, #"{"status": 200, "body": "\#(nested(500))"}"#)),"
                         + "\(rule(deep, #"{"status": 200, "body": "\#(nested(600))"}"#))]")
        _ = try runEngine(app: app)
        XCTAssertEqual(try db.job(shallow).status, "completed")
        XCTAssertEqual(try db.job(shallow).result?.filter { $0 == "[" }.count, 500)
        XCTAssertEqual(try db.job(deep).status, "completed")
        XCTAssertNil(try db.job(deep).result)
    }

    /// Four 20 MiB answers at once: each is cut at the 64 KiB cap and the transfer stopped, so
    /// the binary's peak memory stays where it is with small answers.
    func testTwentyMebibyteAnswersAreCappedWithoutAMemorySpike() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/time") else {
            throw XCTSkip("/usr/bin/time is not installed (Debian package `time`; scripts/setup installs it)")
        }
        let app = try startApp()
        func peakKilobytes(_ ids: [String]) throws -> Int {
            let result = try shell("/usr/bin/time", ["-v", Paths.binary, "run", "--concurrency", "4", "--log-format", "json"],
                                   environment: binaryEnvironment(environment(app: app)), timeout: 60)
            XCTAssertEqual(result.status, 0, result.stderr)
            for id in ids { XCTAssertEqual(try db.job(id).status, "completed", result.stderr) }
            let line = try XCTUnwrap(result.stderr.split(separator: "\n").first { $0.contains("Maximum resident set size") })
            return Int(line.split(separator: ":").last!.trimmingCharacters(in: .whitespaces))!
        }
        let small = try (0..<4).map { _ in try db.insertJob("generate-image") }
        let baseline = try peakKilobytes(small)
        let big = try (0..<4).map { _ in try db.insertJob("generate-image") }
        try app.setRules("[" + big.map { rule($0, #"{"big_body": 20971520}"#) }.joined(separator: ",") + "]")
        let started = Date()
        let peak = try peakKilobytes(big)
        for id in big { XCTAssertNil(try db.job(id).result, "a cut answer is not stored") }
        XCTAssertLessThan(peak - baseline, 8 * 1024, "peak RSS \(peak) KiB against \(baseline) KiB with small answers")
        XCTAssertLessThan(Date().timeIntervalSince(started), 10, "the transfers were stopped, not read to the end")
        print("20 MiB answers: peak RSS \(peak / 1024) MiB with 4 x 20 MiB answers, \(baseline / 1024) MiB with small ones")
    }

    func testEndlessBodyTimesOutAndIsRetried() throws {
        let app = try startApp()
        let id = try db.insertJob("generate-image")
        try app.setRules("[\(rule(id, #"{"endless": true}"#))]")
        _ = try runEngine(app: app) { $0.requestTimeout = 1; $0.lease = 10 }
        let row = try db.job(id)
        XCTAssertEqual(row.status, "pending")
        XCTAssertEqual(row.retryCount, 1)
        XCTAssertEqual(row.errorMessage, "timed out after 1s")
    }

    func testInvalidHTTPIsARetriedFailure() throws {
        let app = try startApp()
        let id = try db.insertJob("generate-image")
        try app.setRules("[\(rule(id, #"{"invalid_http": true}"#))]")
        _ = try runEngine(app: app)
        let row = try db.job(id)
        XCTAssertEqual(row.status, "pending")
        XCTAssertEqual(row.retryCount, 1)
        XCTAssertTrue(row.errorMessage?.hasPrefix("the app's answer is not valid HTTP") ?? false, row.errorMessage ?? "")
    }

    func testGzipAnswerIsDecodedAndStored() throws {
        let app = try startApp()
        let id = try db.insertJob("generate-image")
        try app.setRules("[\(rule(id, #"{"gzip": true}"#))]")
        _ = try runEngine(app: app)
        let request = try XCTUnwrap(app.requests(forJob: id).first)
        XCTAssertEqual(request.action, "gzip", "the app really compressed it")
        XCTAssertTrue(request.headers["accept-encoding"]?.contains("gzip") ?? false)
        let row = try db.job(id)
        XCTAssertEqual(row.status, "completed")
        XCTAssertTrue(row.result?.contains(#""imageUrl": "https://example.invalid/p1/main.png""#) ?? false, row.result ?? "nil")
    }

    /// A POST is never redirected (it could be replayed as a GET, or to another host with the
    /// token): the job fails at once, and the message names where the app pointed.
    func testRedirectsFailAtOnceNamingTheLocation() throws {
        let app = try startApp()
        var ids: [Int: String] = [:]
        var rules: [String] = []
        for status in [301, 302, 303, 307, 308] {
            let id = try db.insertJob("generate-image", payload: #"{"projectId":"r\#(status)"}"#)
            ids[status] = id
            rules.append(rule(id, #"{"redirect": "https://app.example.com/api/v2/process-image", "status": \#(status)}"#))
        }
        let bare = try db.insertJob("generate-image", payload: #"{"projectId":"bare"}"#)
        rules.append(rule(bare, #"{"status": 307, "body": ""}"#))
        try app.setRules("[\(rules.joined(separator: ","))]")
        _ = try runEngine(app: app)
        for (status, id) in ids {
            let row = try db.job(id)
            XCTAssertEqual(row.status, "failed", "HTTP \(status)")
            XCTAssertEqual(row.retryCount, 0)
            XCTAssertEqual(row.errorMessage, "HTTP \(status): redirect to https://app.example.com/api/v2/process-image not followed for a POST; point the app URL at the final address")
        }
        XCTAssertEqual(try db.job(bare).errorMessage, "HTTP 307: redirect not followed for a POST; point the app URL at the final address")
        XCTAssertEqual(try app.requests().count, 6, "one request per job, none to the Location")
    }

    /// HTTP/2 over TLS from a server with a private CA (nginx; the test app speaks HTTP/1.1 only).
    func testHTTP2OverTLSWithAPrivateCA() throws {
        let nginx = try Nginx()
        defer { nginx.stop() }
        try db.insertJobs("generate-image", count: 3)
        var env = environment(app: nil)
        env["APP_URL"] = nginx.url

        // Without the private CA the certificate is not trusted: nothing sent, nothing charged,
        // and after three such failures the run stops saying why and what to set.
        let untrusted = try runBinary(["run", "--log-format", "json"], environment: env)
        XCTAssertEqual(untrusted.status, 69, untrusted.stderr)
        XCTAssertTrue(untrusted.stderr.contains("SSL certificate problem"), untrusted.stderr)
        let last = untrusted.stderr.split(separator: "\n").last.map(String.init) ?? ""
        XCTAssertTrue(last.contains("CURL_CA_BUNDLE"), last)
        XCTAssertFalse(last.contains("start the app"), last)
        XCTAssertEqual(try db.count(where: "status = 'pending' AND retry_count = 0"), 3)

        try db.query("UPDATE job_queue SET run_at = now()")  // skip the uncharged delay
        env["CURL_CA_BUNDLE"] = nginx.caFile
        let trusted = try runBinary(["run", "--log-format", "json"], environment: env)
        XCTAssertEqual(trusted.status, 0, trusted.stderr)
        XCTAssertEqual(try db.count(where: "status = 'completed' AND result->>'via' = 'nginx'"), 3)
        XCTAssertEqual(nginx.accessLog.components(separatedBy: "POST /api/process-image HTTP/2.0 200").count - 1, 3, nginx.accessLog)
    }

    /// Requests started together share one HTTP/2 connection: one TLS handshake per run, not one
    /// per request slot (they used to open 16 connections before multiplexing onto one).
    func testHTTP2RequestsShareOneConnection() throws {
        let nginx = try Nginx()
        defer { nginx.stop() }
        try db.insertJobs("generate-image", count: 40)
        var env = environment(app: nil)
        env["APP_URL"] = nginx.url
        env["CURL_CA_BUNDLE"] = nginx.caFile
        let result = try runBinary(["run", "--concurrency", "16", "--log-format", "json"], environment: env)
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(try db.count(where: "status = 'completed'"), 40)
        let posts = nginx.accessLog.split(separator: "\n").filter { $0.contains(" POST ") }
        XCTAssertEqual(posts.count, 40)
        let connections = Set(posts.map { $0.split(separator: " ")[0] })
        XCTAssertEqual(connections.count, 1, "connections used: \(connections.sorted())")
        print("HTTP/2: 40 requests at --concurrency 16 over \(connections.count) connection(s)")
    }
}
