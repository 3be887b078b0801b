import XCTest
@testable import ProcessJobsCore

final class RequestTests: XCTestCase {
    private func job(retryCount: Int) -> ClaimedJob {
        ClaimedJob(id: "6f1c2a9e-3b4d-4c5e-8f70-0123456789ab", type: "generate-image", retryCount: retryCount,
                   maxRetries: 3, claimedAt: "2024-05-01 10:00:00.123456+00", previousProcessedAt: nil,
                   body: #"{"prompt":"cat","userId":"u1"}"#, payloadType: "object")
    }

    private let trace = TraceContext(jobID: "6f1c2a9e-3b4d-4c5e-8f70-0123456789ab", span: 0xFF)

    func testContractHeaders() {
        let request = Request.forJob(job(retryCount: 2), body: #"{"prompt":"cat","userId":"u1"}"#,
                                     url: "https://app.example/api/process-image", token: "service-role-key",
                                     trace: trace, signing: nil, now: 0)
        XCTAssertEqual(request.url, "https://app.example/api/process-image")
        XCTAssertEqual(request.body, #"{"prompt":"cat","userId":"u1"}"#)
        XCTAssertEqual(request.headers, [
            "Content-Type: application/json",
            "Authorization: Bearer service-role-key",
            "Idempotency-Key: 6f1c2a9e-3b4d-4c5e-8f70-0123456789ab",
            "X-Job-Id: 6f1c2a9e-3b4d-4c5e-8f70-0123456789ab",
            "X-Job-Type: generate-image",
            "X-Job-Attempt: 3",
            "User-Agent: process-jobs/\(Version.current)",
            "traceparent: 00-6f1c2a9e3b4d4c5e8f700123456789ab-00000000000000ff-01",
        ])
    }

    /// A route at another origin without a token of its own gets no Authorization header at all.
    func testNoTokenNoAuthorizationHeader() {
        let request = Request.forJob(job(retryCount: 0), body: "{}", url: "https://hooks.example/x", token: nil,
                                     trace: trace, signing: nil, now: 0)
        XCTAssertFalse(request.headers.contains { $0.lowercased().hasPrefix("authorization") }, "\(request.headers)")
        XCTAssertEqual(request.headers.count, 7)
    }

    func testAttemptCountsFromOne() {
        for (retryCount, attempt) in [(0, "1"), (1, "2"), (3, "4")] {
            let request = Request.forJob(job(retryCount: retryCount), body: "{}", url: "https://a.b/x", token: "t",
                                         trace: trace, signing: nil, now: 0)
            XCTAssertEqual(request.headers.filter { $0.hasPrefix("X-Job-Attempt:") }, ["X-Job-Attempt: \(attempt)"])
        }
    }

    func testVersion() {
        XCTAssertFalse(Version.current.isEmpty)
        XCTAssertTrue(Version.current.allSatisfy { $0.isASCII && ($0.isNumber || $0 == ".") }, Version.current)
    }

    /// With a secret: webhook-id is the job id (the same on every attempt), webhook-timestamp the
    /// send time given, webhook-signature one v1 entry per key over id.timestamp.body.
    func testSignedRequestCarriesTheStandardWebhooksHeaders() throws {
        let secret = try SigningSecret.parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw whsec_" + String(repeating: "A", count: 32), source: "test")
        let body = #"{"prompt":"cat","userId":"u1"}"#
        let request = Request.forJob(job(retryCount: 1), body: body, url: "https://a.b/x", token: nil,
                                     trace: trace, signing: secret, now: 1_700_000_000)
        let id = "6f1c2a9e-3b4d-4c5e-8f70-0123456789ab"
        XCTAssertEqual(Array(request.headers.suffix(3)), [
            "webhook-id: \(id)",
            "webhook-timestamp: 1700000000",
            "webhook-signature: \(secret.signature(id: id, timestamp: 1_700_000_000, body: body))",
        ])
        let signature = try XCTUnwrap(request.headers.last)
        XCTAssertEqual(signature.split(separator: " ").count, 3, "two v1 entries: \(signature)")
        let again = Request.forJob(job(retryCount: 2), body: body, url: "https://a.b/x", token: nil,
                                   trace: trace, signing: secret, now: 1_700_000_060)
        XCTAssertTrue(again.headers.contains("webhook-id: \(id)"), "the same id on every attempt")
        XCTAssertTrue(again.headers.contains("webhook-timestamp: 1700000060"))
    }
}
