import Foundation
import XCTest

/// Waits for a condition (not a fixed sleep): checks it every few milliseconds until it holds
/// or `timeout` passes, then fails the test.
@discardableResult
func awaitCondition(_ what: String, timeout: Double = 30, file: StaticString = #filePath, line: UInt = #line,
                    _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if try condition() { return true }
        usleep(5_000)
    }
    XCTFail("timed out after \(timeout)s waiting for: \(what)", file: file, line: line)
    return false
}
