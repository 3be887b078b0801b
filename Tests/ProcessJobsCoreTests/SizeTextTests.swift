import XCTest
@testable import ProcessJobsCore

final class SizeTextTests: XCTestCase {
    func testAccepted() throws {
        let cases: [(text: String, bytes: Int)] = [
            ("0", 0), ("100", 100), ("512KiB", 512 * 1024), ("10MiB", 10 * 1024 * 1024), ("64MiB", 64 << 20),
            ("2GiB", 2 << 30), ("1B", 1), (" 7KiB ", 7 * 1024), ("1.5MiB", 3 << 19), ("0.5KiB", 512), ("1TiB", 1 << 40),
        ]
        for (text, bytes) in cases {
            XCTAssertEqual(try SizeText.bytes(text), bytes, "'\(text)'")
        }
    }

    func testRejected() {
        let texts = ["", " ", "-1", "10MB", "10mib", "10 MiB", "MiB", "1e3", "0x10", "inf", "nan", "1.2.3", "+5",
                     "2TiB", "99999999999999999999", "1.0000001B", "٣", "5\n"]
        for text in texts {
            XCTAssertThrowsError(try SizeText.bytes(text), "'\(text)'") { error in
                let description = String(describing: error)
                XCTAssertTrue(description.contains("'\(text)'"), description)
                XCTAssertTrue(description.contains("e.g. 512KiB, 10MiB"), description)
            }
        }
    }

    func testFormat() {
        XCTAssertEqual(SizeText.format(0), "0 bytes")
        XCTAssertEqual(SizeText.format(1023), "1023 bytes")
        XCTAssertEqual(SizeText.format(512 * 1024), "512KiB")
        XCTAssertEqual(SizeText.format(10 << 20), "10MiB")
        XCTAssertEqual(SizeText.format(50_000_000), "47.7MiB")
        XCTAssertEqual(SizeText.format(1536), "1.5KiB")
        XCTAssertEqual(SizeText.format(3 << 30), "3GiB")
    }

    /// What format writes, bytes reads back (to the precision shown).
    func testFormatReadsBack() throws {
        for bytes in [0, 1, 1023, 1024, 512 * 1024, 10 << 20, 64 << 20, 1 << 30] {
            XCTAssertEqual(try SizeText.bytes(SizeText.format(bytes).replacingOccurrences(of: " bytes", with: "")), bytes)
        }
    }
}
