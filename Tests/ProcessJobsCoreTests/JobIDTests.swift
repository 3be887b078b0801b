import XCTest
@testable import ProcessJobsCore

final class JobIDTests: XCTestCase {
    func testValid() {
        XCTAssertTrue(JobID.isValid("6e5f78b7-0532-4180-b53a-647afdf6ce51"))
        XCTAssertTrue(JobID.isValid("6E5F78B7-0532-4180-B53A-647AFDF6CE51"))
        XCTAssertTrue(JobID.isValid("00000000-0000-0000-0000-000000000000"))
    }

    func testInvalid() {
        for text in ["", "nope", "12", "6e5f78b7053241 80b53a647afdf6ce51", "6e5f78b7-0532-4180-b53a-647afdf6ce5",
                     "6e5f78b7-0532-4180-b53a-647afdf6ce51a", "6e5f78b7_0532_4180_b53a_647afdf6ce51",
                     "{6e5f78b7-0532-4180-b53a-647afdf6ce51}", "6e5f78b70532-4180-b53a-647afdf6ce51-",
                     "ge5f78b7-0532-4180-b53a-647afdf6ce51", "6e5f78b7-0532-4180-b53a-647afdf6ce5é"] {
            XCTAssertFalse(JobID.isValid(text), text)
        }
    }
}
