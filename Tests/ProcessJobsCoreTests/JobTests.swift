import XCTest
@testable import ProcessJobsCore

final class JobTests: XCTestCase {
    private func job(retryCount: Int = 0, payloadType: String = "object", bodySize: Int = 10, body: String? = "{}") -> ClaimedJob {
        ClaimedJob(id: "6f1c2a9e-3b4d-4c5e-8f70-0123456789ab", type: "generate-image", retryCount: retryCount, maxRetries: 3,
                   claimedAt: "2024-05-01 10:00:00+00", previousProcessedAt: nil, body: body, payloadType: payloadType,
                   bodySize: bodySize)
    }

    func testNegativeRetryCountIsTheFirstAttempt() {
        XCTAssertEqual(job(retryCount: -4).retryCount, 0)
        XCTAssertEqual(job(retryCount: -4).attempt, 1)
        XCTAssertEqual(job(retryCount: 2_147_483_647).attempt, 2_147_483_648)
    }

    func testUnsendable() {
        XCTAssertNil(job().unsendable(maxPayload: 10))
        XCTAssertEqual(job(payloadType: "array").unsendable(maxPayload: 10),
                       "payload is not a JSON object (it is a JSON array): the app expects an object")
        XCTAssertEqual(job(payloadType: "null").unsendable(maxPayload: 10),
                       "payload is not a JSON object (it is JSON null): the app expects an object")
        XCTAssertEqual(job(payloadType: "missing").unsendable(maxPayload: 10),
                       "payload is not a JSON object (it is SQL NULL): the app expects an object")
        XCTAssertEqual(job(bodySize: 50_000_000).unsendable(maxPayload: 10 << 20),
                       "request body of 50000000 bytes (47.7MiB) is over --max-payload 10MiB: not sent; make the payload smaller or raise --max-payload")
        XCTAssertNil(job(bodySize: 10 << 20).unsendable(maxPayload: 10 << 20), "the limit itself is allowed")
    }

    func testWithBodyKeepsEverythingElse() {
        let original = job(bodySize: 1234)
        let dropped = original.with(body: nil)
        XCTAssertNil(dropped.body)
        XCTAssertEqual(dropped.bodySize, 1234)
        XCTAssertEqual(dropped.with(body: "{}"), original)
    }
}
