import Foundation
import XCTest
@testable import ProcessJobsCore

final class StatusReportTests: XCTestCase {
    private let now = 1_738_314_000.0

    private func report() -> StatusReport {
        StatusReport(
            rows: [
                .init(type: "generate-image", status: "pending", jobs: 12, due: 10, oldestDueSeconds: 42, nextRetryAt: now + 240),
                .init(type: "generate-image", status: "processing", jobs: 2, expiredLeases: 1),
                .init(type: "generate-image", status: "completed", jobs: 340),
                .init(type: "generate-image", status: "failed", jobs: 2),
                .init(type: "send-newsletter", status: "pending", jobs: 3, due: 3, oldestDueSeconds: 7200),
            ],
            now: now, routedTypes: ["generate-image", "generate-aplus"],
            expiredLeases: [.init(id: "6e5f78b7-0532-4180-b53a-647afdf6ce51", type: "generate-image", lockedBy: "web-1:42",
                                  retryCount: 1, expiredSeconds: 300)],
            topErrors: [.init(message: "Generation failed: boom\nsecond line", jobs: 5, types: ["generate-image"], lastAt: now - 60)])
    }

    func testTable() {
        XCTAssertEqual(report().table(), """
            TYPE                        PENDING  DUE  OLDEST DUE  NEXT RETRY  PROCESSING  EXPIRED  COMPLETED  FAILED
            generate-aplus                    0    0           -           -           0        0          0       0
            generate-image                   12   10         42s       in 4m           2        1        340       2
            send-newsletter (no route)        3    3          2h           -           0        0          0       0
            total                            15   13          2h       in 4m           2        1        340       2

            Expired leases (1): the next run counts each as a failed attempt
              ID                                    TYPE            HELD BY   EXPIRED  RETRIES
              6e5f78b7-0532-4180-b53a-647afdf6ce51  generate-image  web-1:42   5m ago        1

            Pending jobs of types with no route (never claimed): add --route TYPE=/api/... to the run, or delete them
              send-newsletter: 3

            Most frequent errors of jobs failed in the last 24h:
              JOBS  TYPES           LAST     ERROR
                 5  generate-image  60s ago  Generation failed: boom second line

            """)
    }

    func testEmptyQueueWithoutRoutes() {
        let empty = StatusReport(rows: [], now: now, routedTypes: [], expiredLeases: [], topErrors: [])
        XCTAssertEqual(empty.table(), "job_queue is empty\n")
    }

    func testJSONShape() throws {
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(report().json().utf8)) as? [String: Any])
        XCTAssertEqual(Set(object.keys), ["generated_at", "types", "totals", "expired_leases", "unrouted", "top_errors", "error_window_seconds",
                                          "recent_failures", "routes"])
        XCTAssertEqual(object["generated_at"] as? String, "2025-01-31T09:00:00Z")
        let types = try XCTUnwrap(object["types"] as? [[String: Any]])
        XCTAssertEqual(types.map { $0["type"] as? String }, ["generate-aplus", "generate-image", "send-newsletter"])
        let image = types[1]
        XCTAssertEqual(image["routed"] as? Bool, true)
        XCTAssertEqual(image["pending"] as? Int, 12)
        XCTAssertEqual(image["due"] as? Int, 10)
        XCTAssertEqual(image["oldest_due_seconds"] as? Double, 42)
        XCTAssertEqual(image["next_retry_at"] as? String, "2025-01-31T09:04:00Z")
        XCTAssertEqual(image["next_retry_in_seconds"] as? Double, 240)
        XCTAssertEqual(image["expired_leases"] as? Int, 1)
        XCTAssertTrue(types[0]["oldest_due_seconds"] is NSNull, "null, not absent, when nothing is due")
        XCTAssertEqual(types[2]["routed"] as? Bool, false)
        let totals = try XCTUnwrap(object["totals"] as? [String: Any])
        XCTAssertEqual(totals["pending"] as? Int, 15)
        XCTAssertEqual(totals["completed"] as? Int, 340)
        XCTAssertEqual((object["unrouted"] as? [[String: Any]])?.first?["type"] as? String, "send-newsletter")
        let lease = try XCTUnwrap((object["expired_leases"] as? [[String: Any]])?.first)
        XCTAssertEqual(lease["locked_by"] as? String, "web-1:42")
        XCTAssertEqual(lease["expired_seconds"] as? Double, 300)
        let error = try XCTUnwrap((object["top_errors"] as? [[String: Any]])?.first)
        XCTAssertEqual(error["message"] as? String, "Generation failed: boom\nsecond line", "JSON keeps the whole message")
        XCTAssertEqual(error["jobs"] as? Int, 5)
        XCTAssertEqual(error["types"] as? [String], ["generate-image"])
    }

    func testOneLine() {
        XCTAssertEqual(StatusReport.oneLine("a\nb\tc", limit: 10), "a b c")
        XCTAssertEqual(StatusReport.oneLine("abcdefghijk", limit: 5), "abcd…")
    }

    func testOtherStatusesAreCountedAndShownOnlyWhenPresent() throws {
        let report = StatusReport(
            rows: [
                .init(type: "generate-image", status: "pending", jobs: 1, due: 1, oldestDueSeconds: .infinity, nextRetryAt: .infinity),
                .init(type: "generate-image", status: "null", jobs: 2),
                .init(type: "generate-image", status: "cancelled", jobs: 1),
                .init(type: "generate-aplus", status: "PENDING", jobs: 4),
            ],
            now: now, routedTypes: ["generate-image", "generate-aplus"], expiredLeases: [], topErrors: [])
        XCTAssertEqual(report.totals.other, 7)
        XCTAssertEqual(report.table(), """
            TYPE            PENDING  DUE  OLDEST DUE  NEXT RETRY  PROCESSING  EXPIRED  COMPLETED  FAILED  OTHER
            generate-aplus        0    0           -           -           0        0          0       0      4
            generate-image        1    1     forever       never           0        0          0       0      3
            total                 1    1     forever       never           0        0          0       0      7

            """)
        let document = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(report.json().utf8)) as? [String: Any])
        let totals = try XCTUnwrap(document["totals"] as? [String: Any])
        XCTAssertEqual(totals["other"] as? Int, 7)
        XCTAssertEqual(totals["next_retry_at"] as? String, "infinity")
        XCTAssertFalse(self.report().table().contains("OTHER"), "no column when every row has one of the four")
    }
}

final class StatusReportRecentFailuresTests: XCTestCase {
    private let now = 1_738_314_000.0

    private func report() -> StatusReport {
        StatusReport(
            rows: [.init(type: "generate-image", status: "failed", jobs: 2)], now: now, routedTypes: ["generate-image"],
            expiredLeases: [], topErrors: [],
            recentFailures: [
                .init(id: "6e5f78b7-0532-4180-b53a-647afdf6ce51", type: "generate-image", error: "HTTP 404: Project not found",
                      failedAt: now - 120, failureJob: ("0b4d2c8e-5a7f-4c1e-9d3b-2f6a8e1c7d90", "job-failed", "completed")),
                .init(id: "9a1b2c3d-4e5f-4a6b-8c7d-0e1f2a3b4c5d", type: "generate-image", error: nil, failedAt: now - 7200),
            ])
    }

    func testTableListsEachFailureWithItsFailureJob() {
        XCTAssertTrue(report().table().hasSuffix("""

            Latest failed jobs (last 24h), with the failure job queued for each (--on-failure):
              ID                                    TYPE            FAILED  FAILURE JOB                                     ERROR
              6e5f78b7-0532-4180-b53a-647afdf6ce51  generate-image  2m ago  0b4d2c8e-5a7f-4c1e-9d3b-2f6a8e1c7d90 completed  HTTP 404: Project not found
              9a1b2c3d-4e5f-4a6b-8c7d-0e1f2a3b4c5d  generate-image  2h ago  none                                            -

            """), report().table())
    }

    func testJSONCarriesTheFailureJobOrNull() throws {
        let document = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(report().json().utf8)) as? [String: Any])
        let failures = try XCTUnwrap(document["recent_failures"] as? [[String: Any]])
        XCTAssertEqual(failures.map { $0["id"] as? String }, ["6e5f78b7-0532-4180-b53a-647afdf6ce51", "9a1b2c3d-4e5f-4a6b-8c7d-0e1f2a3b4c5d"])
        let job = try XCTUnwrap(failures[0]["failure_job"] as? [String: Any])
        XCTAssertEqual(job["status"] as? String, "completed")
        XCTAssertEqual(job["type"] as? String, "job-failed")
        XCTAssertEqual(failures[0]["error"] as? String, "HTTP 404: Project not found")
        XCTAssertEqual(failures[0]["failed_at"] as? String, TimeText.rfc3339(now - 120))
        XCTAssertTrue(failures[1]["failure_job"] is NSNull)
        XCTAssertTrue(failures[1]["error"] is NSNull)
    }

    func testNoSectionWithoutFailures() {
        let empty = StatusReport(rows: [.init(type: "generate-image", status: "completed", jobs: 1)], now: now,
                                 routedTypes: ["generate-image"], expiredLeases: [], topErrors: [])
        XCTAssertFalse(empty.table().contains("Latest failed jobs"))
    }
}
