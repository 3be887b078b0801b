import Foundation
import PostgresClient
import XCTest

/// W3C traceparent on every request: the job's trace id on every attempt, a new span each
/// attempt, sampled; and the same trace id in the outcome's log line.
final class TraceparentTests: IntegrationTestCase {
    private let format = try! NSRegularExpression(pattern: "^00-([0-9a-f]{32})-([0-9a-f]{16})-01$")

    private func parts(_ traceparent: String?) -> (trace: String, span: String)? {
        guard let traceparent,
              let match = format.firstMatch(in: traceparent, range: NSRange(traceparent.startIndex..., in: traceparent)) else { return nil }
        let text = traceparent as NSString
        return (text.substring(with: match.range(at: 1)), text.substring(with: match.range(at: 2)))
    }

    /// The outcome lines ("job completed", "job retry", ...) of the JSON log, for one job id.
    private func outcomeLines(_ stderr: String, job id: String) throws -> [[String: Any]] {
        try stderr.split(separator: "\n").compactMap { line in
            try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
        }.filter { $0["id"] as? String == id && $0["outcome"] != nil }
    }

    func testTraceIdStableAcrossAttemptsSpanNewEachAttemptAndInTheLogLine() throws {
        let app = try startApp()
        let others = try (0..<4).map { _ in try db.insertJob("generate-image") }
        let id = try db.insertJob("generate-image", payload: #"{"projectId":"again"}"#)
        try app.setRules(#"[{"match":{"projectId":"again"},"times":1,"action":{"status":500}}]"#)
        let first = try runBinary(["run", "--log-format", "json"], environment: environment(app: app))
        XCTAssertEqual(first.status, 0, first.stderr)
        try db.query("UPDATE job_queue SET run_at = now() WHERE id = $1", [id])
        let second = try runBinary(["run", "--log-format", "json"], environment: environment(app: app))
        XCTAssertEqual(second.status, 0, second.stderr)
        XCTAssertEqual(try db.job(id).status, "completed")

        let requests = try app.requests()
        XCTAssertEqual(requests.count, 6)
        for request in requests {
            let trace = try XCTUnwrap(parts(request.headers["traceparent"]), "malformed: \(request.headers["traceparent"] ?? "none")")
            XCTAssertNotEqual(trace.trace, String(repeating: "0", count: 32))
            XCTAssertNotEqual(trace.span, String(repeating: "0", count: 16))
            XCTAssertEqual(trace.trace, request.jobId?.replacingOccurrences(of: "-", with: "").lowercased())
        }
        let attempts = try app.requests(forJob: id).map { try XCTUnwrap(parts($0.headers["traceparent"])) }
        guard attempts.count == 2 else { return XCTFail("two attempts expected, got \(attempts.count)") }
        XCTAssertEqual(attempts[0].trace, attempts[1].trace, "the job's trace on every attempt")
        XCTAssertNotEqual(attempts[0].span, attempts[1].span, "a new span per attempt")
        XCTAssertEqual(Set(requests.compactMap { parts($0.headers["traceparent"])?.trace }).count, others.count + 1, "one trace per job")

        let lines = try outcomeLines(first.stderr, job: id) + outcomeLines(second.stderr, job: id)
        XCTAssertEqual(lines.compactMap { $0["outcome"] as? String }, ["retry", "completed"])
        for line in lines { XCTAssertEqual(line["trace_id"] as? String, attempts[0].trace, "\(line)") }
        for other in others {
            let trace = try XCTUnwrap(app.requests(forJob: other).first.flatMap { parts($0.headers["traceparent"]) }).trace
            XCTAssertEqual(try outcomeLines(first.stderr, job: other).first?["trace_id"] as? String, trace)
        }
    }
}
