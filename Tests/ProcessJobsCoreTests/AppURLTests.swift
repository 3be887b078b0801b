import Foundation
import XCTest
@testable import ProcessJobsCore

final class AppURLTests: XCTestCase {
    private func refusal(_ text: String, allowInsecureHTTP: Bool = false) -> String? {
        do {
            _ = try AppURL(text, allowInsecureHTTP: allowInsecureHTTP)
            return nil
        } catch {
            return error.description
        }
    }

    func testRoutesJoinThePrefix() throws {
        let cases: [(base: String, route: String, url: String)] = [
            ("https://a.b/prefix/", "/api/x", "https://a.b/prefix/api/x"),
            ("https://a.b/prefix", "/api/x", "https://a.b/prefix/api/x"),
            ("https://a.b/prefix//", "/api/x", "https://a.b/prefix/api/x"),
            ("https://a.b/p/q/", "api/x", "https://a.b/p/q/api/x"),
            ("https://a.b", "/api/x", "https://a.b/api/x"),
            ("https://a.b/", "/api/x", "https://a.b/api/x"),
            ("https://a.b:8443/", "/api/x", "https://a.b:8443/api/x"),
            (" https://a.b ", "/api/x", "https://a.b/api/x"),
            ("HTTPS://a.b", "/api/x", "https://a.b/api/x"),
            ("http://localhost:3000", "/api/process-image", "http://localhost:3000/api/process-image"),
            ("http://[::1]:3000/app", "/api/x", "http://[::1]:3000/app/api/x"),
            // Absolute route URLs stand as they are.
            ("https://a.b/prefix", "https://hooks.example/x", "https://hooks.example/x"),
            ("https://a.b/prefix", "http://localhost:9000/x", "http://localhost:9000/x"),
        ]
        for (base, route, url) in cases {
            XCTAssertEqual(try AppURL(base).resolve(route), url, "\(base) + \(route)")
        }
    }

    func testParts() throws {
        let url = try AppURL("https://App.Example:8443/base/")
        XCTAssertEqual(url.scheme, "https")
        XCTAssertEqual(url.authority, "App.Example:8443")
        XCTAssertEqual(url.host, "app.example")
        XCTAssertEqual(url.pathPrefix, "/base")
        XCTAssertEqual(url.description, "https://App.Example:8443/base")
        XCTAssertEqual(try AppURL("https://a.b").pathPrefix, "")
    }

    func testPlainHTTPOnLoopbackOnly() {
        let loopback = [
            "http://localhost", "http://localhost:3000", "http://LOCALHOST:3000", "http://app.localhost:3000",
            "http://127.0.0.1", "http://127.0.0.1:3000/x", "http://127.1.2.3:8080", "http://[::1]", "http://[::1]:3000",
        ]
        for text in loopback {
            XCTAssertNil(refusal(text), text)
        }
        let remote = [
            "http://example.com", "http://example.com:3000", "http://10.0.0.5:3000", "http://192.168.1.1",
            "http://[2001:db8::1]:80", "http://localhost.example.com", "http://mylocalhost",
            // Names that merely start like a loopback address resolve wherever their owner likes.
            "http://127.example.com", "http://127.0.0.1.nip.io", "http://127.evil", "http://127.0.0.256", "http://127.+1.0.1",
        ]
        for text in remote {
            guard let message = refusal(text) else {
                XCTFail("\(text) should be refused")
                continue
            }
            XCTAssertTrue(message.contains("use https, or pass --allow-insecure-http"), message)
            XCTAssertNil(refusal(text, allowInsecureHTTP: true), text)
            XCTAssertNil(refusal(text.replacingOccurrences(of: "http://", with: "https://")), text)
        }
    }

    func testPorts() {
        for text in ["https://a.b:1", "https://a.b:443", "https://a.b:65535", "https://[::1]:8443", "https://[2001:db8::1]"] {
            XCTAssertNil(refusal(text), text)
        }
        for text in [
            "https://a.b:0", "https://a.b:65536", "https://a.b:99999999999999999999", "https://a.b:abc", "https://a.b:",
            "https://a.b:-1", "https://a.b:80:80", "https://[::1]x", "https://[::1]:0", "https://[::1", "https://:443",
        ] {
            guard let message = refusal(text) else {
                XCTFail("\(text) should be refused")
                continue
            }
            XCTAssertTrue(message.contains("write it as https://host[:port][/prefix]"), message)
        }
    }

    func testRefusalsSayWhatToDo() {
        let cases: [(text: String, hint: String)] = [
            ("a.b", "write it as https://host[:port][/prefix]"),
            ("localhost:3000", "write it as https://host[:port][/prefix]"),
            ("", "write it as https://host[:port][/prefix]"),
            ("ftp://a.b", "use https://"),
            ("file:///etc/passwd", "use https://"),
            ("https://a.b/?x=1", "write https://host[:port][/prefix]"),
            ("https://a.b/path#frag", "write https://host[:port][/prefix]"),
            ("https://a.b/pre fix", "write https://host[:port][/prefix]"),
            ("https://user:pw@a.b", "the token goes in SUPABASE_SERVICE_ROLE_KEY"),
            ("https://user@a.b/x", "the token goes in SUPABASE_SERVICE_ROLE_KEY"),
            ("https://", "write it as https://host[:port][/prefix]"),
            ("https:///path", "write it as https://host[:port][/prefix]"),
            ("http://example.com", "use https, or pass --allow-insecure-http"),
        ]
        for (text, hint) in cases {
            guard let message = refusal(text) else {
                XCTFail("'\(text)' should be refused")
                continue
            }
            XCTAssertTrue(message.contains(hint), "'\(text)': \(message)")
        }
    }

    func testCredentialsAreNotEchoed() {
        for text in ["https://user:s3cret@a.b", "https://user:s3cret@a.b/x?y=1", "ftp://user:s3cret@a.b"] {
            guard let message = refusal(text) else {
                XCTFail("'\(text)' should be refused")
                continue
            }
            XCTAssertFalse(message.contains("s3cret"), message)
        }
    }

    /// Credentials in the text are never printed, whatever else is wrong with it.
    func testRefusalsNeverPrintCredentials() {
        for text in ["user:s3cret@app.example.com", "user:s3cret@app.example.com/p?q", "https://user:s3cret@app.example.com",
                     "https://user:s3cret@[::1", "ftp://user:s3cret@app.example.com", "https://user:s3cret@app.example.com/?x=1",
                     "https://user:s3cret@app example.com"] {
            guard let message = refusal(text) else { XCTFail(text); continue }
            XCTAssertFalse(message.contains("s3cret"), message)
        }
    }

    func testOrigins() throws {
        XCTAssertEqual(try AppURL("https://App.Example/base").origin, .init(scheme: "https", host: "app.example", port: 443))
        XCTAssertEqual(try AppURL("http://localhost:3000").origin, .init(scheme: "http", host: "localhost", port: 3000))
        XCTAssertEqual(try AppURL("http://[::1]").origin, .init(scheme: "http", host: "[::1]", port: 80))
        XCTAssertEqual(try AppURL.routeOrigin("https://hooks.example:8443/x?key=1", allowInsecureHTTP: false),
                       .init(scheme: "https", host: "hooks.example", port: 8443))
        XCTAssertThrowsError(try AppURL.routeOrigin("http://hooks.example/x", allowInsecureHTTP: false))
        XCTAssertNoThrow(try AppURL.routeOrigin("http://hooks.example/x", allowInsecureHTTP: true))
        XCTAssertThrowsError(try AppURL.routeOrigin("https://a:b@hooks.example/x", allowInsecureHTTP: true))
    }
}
