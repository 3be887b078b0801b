@testable import PostgresClient
import XCTest

final class ConninfoTextTests: XCTestCase {
    func testPasswordOfAURI() {
        XCTAssertEqual(ConninfoText.secrets(in: "postgresql://u:pw123@h/db"), ["pw123"])
        XCTAssertEqual(Set(ConninfoText.secrets(in: "postgresql://u:Sup3r%ZZsecret@h/db")), ["Sup3r%ZZsecret"])
        XCTAssertEqual(Set(ConninfoText.secrets(in: "postgresql://u:a%40bcd@h/db")), ["a%40bcd", "a@bcd"])
        XCTAssertEqual(Set(ConninfoText.secrets(in: "postgresql://u:Sup3r@secret@h/db")), ["Sup3r@secret", "Sup3r", "secret"])
        XCTAssertEqual(ConninfoText.secrets(in: "postgresql://u@h/db?password=xyz&sslmode=require"), ["xyz"])
        XCTAssertEqual(ConninfoText.secrets(in: "postgresql://u@h/db"), [])
        XCTAssertEqual(ConninfoText.secrets(in: "postgresql://h/db?user=a@b"), [], "an @ after the ? is not userinfo")
    }

    func testPasswordOfKeywordValues() {
        XCTAssertEqual(ConninfoText.secrets(in: "host=h password=pw123 user=u"), ["pw123"])
        XCTAssertEqual(ConninfoText.secrets(in: "host=h password = 'p w'"), ["p w"])
        XCTAssertEqual(ConninfoText.secrets(in: "host='h password=unterminated"), ["unterminated"])
        XCTAssertEqual(ConninfoText.secrets(in: "host=h mypassword=x"), [], "only the password keyword")
        XCTAssertFalse(ConninfoText.hasPassword("host=h user=u"))
        XCTAssertTrue(ConninfoText.hasPassword("host=h user=u password=p"))
    }

    func testRedactTakesEveryFormOut() {
        let url = "postgresql://u:Sup3rsecret@[::1:5432/db"
        let message = #"end of string reached when looking for matching "]" in IPv6 host address in URI: "\#(url)""#
        let redacted = ConninfoText.redact(message, secrets: ConninfoText.secrets(in: url))
        XCTAssertFalse(redacted.contains("Sup3rsecret"))
        XCTAssertTrue(redacted.contains("postgresql://u:***@[::1:5432/db"), redacted)
    }

    func testMoreThanOneAtBeforeTheHostIsAProblem() {
        XCTAssertNotNil(ConninfoText.problem(in: "postgresql://u:a@b@h/db"))
        XCTAssertNil(ConninfoText.problem(in: "postgresql://u:a%40b@h/db"))
        XCTAssertNil(ConninfoText.problem(in: "host=h password=a@b@c"))
    }
}
