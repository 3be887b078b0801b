import XCTest
@testable import ProcessJobsCore

final class DryRunListingTests: XCTestCase {
    func testListsJobsTargetsAndWhatElseTheRunWouldDo() {
        let listing = DryRunListing(
            jobs: [
                .init(id: "6e5f78b7-0532-4180-b53a-647afdf6ce51", type: "generate-image", retryCount: 1, maxRetries: 3, dueSeconds: 90, payloadType: "object"),
                .init(id: "0c34416e-e95c-4acd-aaef-6c62011cb72a", type: "generate-aplus", retryCount: 0, maxRetries: 3, dueSeconds: 1, payloadType: "array"),
            ],
            targets: ["generate-image": "http://app/api/process-image", "generate-aplus": "http://app/api/process-aplus"],
            dueTotal: 5, expiredLeases: 2, unrouted: [(type: "send-newsletter", pending: 1)], onceLimit: nil)
        XCTAssertEqual(listing.rendered(), """
            ID                                    TYPE            ATTEMPT      DUE  TARGET
            6e5f78b7-0532-4180-b53a-647afdf6ce51  generate-image      2/4  90s ago  POST http://app/api/process-image
            0c34416e-e95c-4acd-aaef-6c62011cb72a  generate-aplus      1/4   1s ago  (fails at once: payload is a JSON array, not an object)

            would claim 5 due jobs, the first 2 listed
            would first rescue 2 expired leases (a failed attempt each; see `process-jobs status`)
            1 pending job of type send-newsletter would not be claimed: no route
            dry run: nothing was claimed, sent or changed

            """)
    }

    func testNothingDue() {
        let listing = DryRunListing(jobs: [], targets: [:], dueTotal: 0, expiredLeases: 0, unrouted: [], onceLimit: 50)
        XCTAssertEqual(listing.rendered(), "no job is due: a run now would claim nothing\ndry run: nothing was claimed, sent or changed\n")
    }
}
