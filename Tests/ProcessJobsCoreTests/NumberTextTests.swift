import XCTest
@testable import ProcessJobsCore

final class NumberTextTests: XCTestCase {
    func testFixed() {
        let cases: [(Double, Int, String)] = [
            (0, 3, "0"), (1.5, 3, "1.5"), (1.2345, 3, "1.235"), (1.0004, 3, "1"), (-1.25, 3, "-1.25"), (-0.0001, 3, "0"),
            (42, 0, "42"), (1e-7, 6, "0"), (123_456_789.123456, 6, "123456789.123456"), (1e20, 3, "1e+20"), (999_999_999_999_999, 0, "999999999999999"),
        ]
        for (value, decimals, text) in cases {
            XCTAssertEqual(NumberText.fixed(value, decimals: decimals), text, "\(value)")
        }
    }
}
