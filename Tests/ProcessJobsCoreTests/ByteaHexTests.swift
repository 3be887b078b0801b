import XCTest
@testable import ProcessJobsCore

final class ByteaHexTests: XCTestCase {
    private func decode(_ text: String, capacity: Int = 8, at offset: Int = 0) -> [UInt8]? {
        var storage = [UInt8](repeating: 0, count: capacity)
        let written = storage.withUnsafeMutableBufferPointer { ByteaHex.decode(text, into: $0, at: offset) }
        return written.map { Array(storage[offset..<(offset + $0)]) }
    }

    func testDecodes() {
        XCTAssertEqual(decode(#"\x"#), [])
        XCTAssertEqual(decode(#"\x7b22"#), [0x7B, 0x22])
        XCTAssertEqual(decode(#"\xC3A9ff00"#), [0xC3, 0xA9, 0xFF, 0x00])
        XCTAssertEqual(decode(#"\x0102"#, capacity: 4, at: 2), [1, 2], "appends at the offset")
    }

    func testRefusesWhatIsNotHexOrDoesNotFit() {
        for text in ["", "x", #"\"#, "7b22", #"\x7"#, #"\x7g"#, #"\X7b"#, #"\x 7b"#, #"\x7b2"#] {
            XCTAssertNil(decode(text), "'\(text)'")
        }
        XCTAssertNil(decode(#"\x010203"#, capacity: 2), "one byte too many")
        XCTAssertNil(decode(#"\x01"#, capacity: 2, at: 2), "no room left")
    }
}
