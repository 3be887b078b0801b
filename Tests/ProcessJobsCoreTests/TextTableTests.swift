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
}
