import XCTest
@testable import ProcessJobsCore

final class TextTableTests: XCTestCase {
    func testAlignsTextLeftAndNumbersRight() {
        var table = TextTable(headers: ["NAME", "N", "NOTE"], alignments: [.left, .right, .left])
        table.append(["a", "1000", "x"])
        table.append(["longer", "2", ""])
        XCTAssertEqual(table.rendered(), """
            NAME       N  NOTE
            a       1000  x
            longer     2

            """)
    }

    func testControlCharactersInACellAreEscapedSoTheyCannotForgeLines() {
        var table = TextTable(headers: ["TYPE", "N"], alignments: [.left, .right])
        table.append(["evil\nFAKE  9\r\u{1b}[2J\t\u{7f}\u{85}\u{2028}é", "1"])
        XCTAssertEqual(table.rendered(), """
            TYPE                                             N
            evil\\nFAKE  9\\r\\u{1b}[2J\\t\\u{7f}\\u{85}\\u{2028}é  1

            """)
    }
}
