import XCTest
@testable import ProcessJobsCore

final class TerminalTextTests: XCTestCase {
    func testEscapesEveryControlCharacterAndKeepsTheRest() {
        XCTAssertEqual(TerminalText.escaped("generate-image"), "generate-image")
        XCTAssertEqual(TerminalText.escaped("a\nb\rc\td"), #"a\nb\rc\td"#)
        XCTAssertEqual(TerminalText.escaped("\u{0}\u{1b}[31m\u{7f}\u{85}\u{9b}\u{2028}\u{2029}"), #"\u{0}\u{1b}[31m\u{7f}\u{85}\u{9b}\u{2028}\u{2029}"#)
        XCTAssertEqual(TerminalText.escaped("café ✓ \\n"), "café ✓ \\n")
    }
}
