import XCTest
@testable import ProcessJobsCore

final class RequestTests: XCTestCase {
    private func job(retryCount: Int) -> ClaimedJob {
        ClaimedJob(id: "6f1c2a9e-3b4d-4c5e-8f70-0123456789ab", type: "generate-image", retryCount: retryCount,
                   maxRetries: 3, claimedAt: "2024-05-01 10:00:00.123456+00", previousProcessedAt: nil,
                   body: #"{"prompt":"cat","userId":"u1"}"#, payloadType: "object")
    }

    func testContractHeaders() {
        let request = Request.forJob(job(retryCount: 2), body: #"{"prompt":"cat","userId":"u1"}"#,
                                     url: "https://app.example/api/process-image", token: "service-role-key")
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
        ])
    }

    /// A route at another origin without a token of its own gets no Authorization header at all.
    func testNoTokenNoAuthorizationHeader() {
        let request = Request.forJob(job(retryCount: 0), body: "{}", url: "https://hooks.example/x", token: nil)
        XCTAssertFalse(request.headers.contains { $0.lowercased().hasPrefix("authorization") }, "\(request.headers)")
        XCTAssertEqual(request.headers.count, 6)
    }

    func testAttemptCountsFromOne() {
        for (retryCount, attempt) in [(0, "1"), (1, "2"), (3, "4")] {
            let request = Request.forJob(job(retryCount: retryCount), body: "{}", url: "https://a.b/x", token: "t")
            XCTAssertEqual(request.headers.filter { $0.hasPrefix("X-Job-Attempt:") }, ["X-Job-Attempt: \(attempt)"])
        }
    }

    func testVersion() {
        XCTAssertFalse(Version.current.isEmpty)
        XCTAssertTrue(Version.current.allSatisfy { $0.isASCII && ($0.isNumber || $0 == ".") }, Version.current)
    }
}
