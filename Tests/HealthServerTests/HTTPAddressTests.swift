import HealthServer
import XCTest

final class HTTPAddressTests: XCTestCase {
    func testAddressesThatParse() {
        let cases: [(text: String, host: String, port: UInt16, shown: String)] = [
            ("127.0.0.1:9090", "127.0.0.1", 9090, "127.0.0.1:9090"),
            ("0.0.0.0:0", "0.0.0.0", 0, "0.0.0.0:0"),
            ("[::1]:8080", "::1", 8080, "[::1]:8080"),
            ("[::]:65535", "::", 65535, "[::]:65535"),
        ]
        for (text, host, port, shown) in cases {
            let address = HTTPAddress.parse(text)
            XCTAssertEqual(address, HTTPAddress(host: host, port: port), text)
            XCTAssertEqual(address?.description, shown)
        }
    }

    func testWhatIsNotAnAddress() {
        for text in ["", "9090", ":9090", "localhost:9090", "127.0.0.1", "127.0.0.1:", "127.0.0.1:65536", "127.0.0.1:-1",
                     "127.0.0.1:80a", "::1:8080", "[127.0.0.1]:80", "[]:80", "256.0.0.1:80", "127.0.0.1:٣"] {
            XCTAssertNil(HTTPAddress.parse(text), text)
        }
    }
}
