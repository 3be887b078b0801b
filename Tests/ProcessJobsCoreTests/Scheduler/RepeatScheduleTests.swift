import XCTest
@testable import ProcessJobsCore

final class RepeatScheduleTests: XCTestCase {
    func testParse() throws {
        XCTAssertNil(try RepeatSchedule.parse(every: nil, window: nil))
        XCTAssertEqual(try RepeatSchedule.parse(every: "10s", window: "55s"), RepeatSchedule(every: 10, window: 55))
        XCTAssertThrowsError(try RepeatSchedule.parse(every: nil, window: "55s"))
        XCTAssertThrowsError(try RepeatSchedule.parse(every: "500ms", window: nil)) {
            XCTAssertTrue(($0 as? ConfigError)?.description.contains("at least 1s") ?? false)
        }
        XCTAssertThrowsError(try RepeatSchedule.parse(every: "10s", window: "0s"))
        XCTAssertThrowsError(try RepeatSchedule.parse(every: "soon", window: nil))
    }

    func testEachRunEndsByTheWindowsEnd() {
        let schedule = RepeatSchedule(every: 10, window: 55)
        XCTAssertEqual(schedule.maxRuntime(configured: 300, started: 50), 5)
        XCTAssertEqual(schedule.maxRuntime(configured: 2, started: 50), 2)
        XCTAssertEqual(schedule.maxRuntime(configured: nil, started: 20), 35)
        XCTAssertEqual(RepeatSchedule(every: 10).maxRuntime(configured: nil, started: 20), nil)
    }

    func testNextRunUnlessStoppedOrPastTheWindow() {
        let schedule = RepeatSchedule(every: 10, window: 55)
        XCTAssertEqual(schedule.nextStart(after: 0, reason: .drained), 10)
        XCTAssertEqual(schedule.nextStart(after: 40, reason: .maxRuntime), 50)
        XCTAssertNil(schedule.nextStart(after: 50, reason: .drained))
        XCTAssertNil(schedule.nextStart(after: 0, reason: .signal))
    }
}
