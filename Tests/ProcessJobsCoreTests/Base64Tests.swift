import XCTest
@testable import ProcessJobsCore

final class Base64Tests: XCTestCase {
    /// RFC 4648 §10's vectors.
    func testRFC4648Vectors() {
        let vectors = ["": "", "f": "Zg==", "fo": "Zm8=", "foo": "Zm9v", "foob": "Zm9vYg==", "fooba": "Zm9vYmE=", "foobar": "Zm9vYmFy"]
        for (plain, encoded) in vectors {
            XCTAssertEqual(Base64.encode(Array(plain.utf8)), encoded)
            XCTAssertEqual(Base64.decode(encoded), Array(plain.utf8), encoded)
        }
    }

    func testEveryByteRoundTrips() {
        var generator = SplitMix64(seed: 42)
        for length in 0..<200 {
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            XCTAssertEqual(Base64.decode(Base64.encode(bytes)), bytes)
        }
    }

    func testPaddingMayBeLeftOff() {
        XCTAssertEqual(Base64.decode("Zg"), Array("f".utf8))
        XCTAssertEqual(Base64.decode("Zm8"), Array("fo".utf8))
    }

    func testRefusesWhatIsNotBase64() {
        for text in ["Z", "Zm9v!", "Zm=9v", "Zm9v====", "Zg===", "Zm9v Ym", "Zm9v-_", "Zé==", "Z==="] {
            XCTAssertNil(Base64.decode(text), text)
        }
    }
}
