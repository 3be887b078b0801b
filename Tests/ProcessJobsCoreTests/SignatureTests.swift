import XCTest
@testable import ProcessJobsCore

final class SignatureTests: XCTestCase {
    /// The Standard Webhooks reference test vector (the spec's and every reference library's).
    func testSpecTestVector() throws {
        let secret = try SigningSecret.parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", source: "test")
        XCTAssertEqual(secret.signature(id: "msg_p5jXN8AQM9LWM0D4loKWxJek", timestamp: 1614265330, body: #"{"test": 2432232314}"#),
                       "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
    }

    /// RFC 4231 test case 2: the MAC itself, independent of the header's framing.
    func testHMACSHA256AgainstRFC4231() {
        let mac = Signature.hmacSHA256(key: Array("Jefe".utf8), parts: ["what do ya ", "want for nothing?"])
        XCTAssertEqual(mac.map { String(format: "%02x", $0) }.joined(),
                       "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
    }

    /// A rotation set signs with each key, in the order given, separated by spaces.
    func testEveryKeySignsInOrder() {
        let first = [UInt8](repeating: 1, count: 32), second = [UInt8](repeating: 2, count: 32)
        let both = Signature.header(id: "j", timestamp: 5, body: "{}", keys: [first, second])
        let one = Signature.header(id: "j", timestamp: 5, body: "{}", keys: [first])
        let other = Signature.header(id: "j", timestamp: 5, body: "{}", keys: [second])
        XCTAssertEqual(both, one + " " + other)
        XCTAssertNotEqual(one, other)
        XCTAssertTrue(one.hasPrefix("v1,"))
    }

    /// Each of id, timestamp and body is covered.
    func testEachFieldChangesTheSignature() {
        let key = [UInt8](repeating: 7, count: 24)
        let base = Signature.header(id: "a", timestamp: 1, body: "{}", keys: [key])
        XCTAssertNotEqual(base, Signature.header(id: "b", timestamp: 1, body: "{}", keys: [key]))
        XCTAssertNotEqual(base, Signature.header(id: "a", timestamp: 2, body: "{}", keys: [key]))
        XCTAssertNotEqual(base, Signature.header(id: "a", timestamp: 1, body: "{ }", keys: [key]))
    }
}
