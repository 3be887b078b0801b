import XCTest
@testable import ProcessJobsCore

final class ProgressLineTests: XCTestCase {
    private let progress = RunProgress(claimed: 120, completed: 100, retried: 3, failed: 1, released: 0, inFlight: 16, seconds: 0)

    func testText() {
        XCTAssertEqual(ProgressLine.text(progress, elapsed: 2.2),
                       "claimed 120, done 100, retried 3, failed 1, in flight 16, 47 jobs/s, 2.2s")
        let slow = RunProgress(claimed: 2, completed: 1, retried: 0, failed: 0, released: 1, inFlight: 1, seconds: 0)
        XCTAssertEqual(ProgressLine.text(slow, elapsed: 4),
                       "claimed 2, done 1, retried 0, failed 0, released 1, in flight 1, 0.3 jobs/s, 4s")
        XCTAssertTrue(ProgressLine.text(progress, elapsed: 0).contains("0 jobs/s"))
    }

    func testDropsWholePartsToFitTheWidth() {
        XCTAssertEqual(ProgressLine.text(progress, elapsed: 2.2, width: 60), "claimed 120, done 100, retried 3, failed 1, 47 jobs/s, 2.2s")
        XCTAssertEqual(ProgressLine.text(progress, elapsed: 2.2, width: 45), "claimed 120, done 100, failed 1, 47 jobs/s")
        XCTAssertEqual(ProgressLine.text(progress, elapsed: 2.2, width: 35), "claimed 120, done 100, failed 1")
        XCTAssertEqual(ProgressLine.text(progress, elapsed: 2.2, width: 10), "claimed 12")
    }
}
