import XCTest
@testable import ProcessJobsCore

final class RedactedURLTests: XCTestCase {
    func testCredentialsQueryAndFragmentAreHidden() {
        let cases: [(url: String, printed: String)] = [
            ("https://app.example.com/api/x", "https://app.example.com/api/x"),
            ("https://user:s3cret@app.example.com/api", "https://***@app.example.com/api"),
            ("https://s3cret@app.example.com", "https://***@app.example.com"),
            ("https://a@b:s3cret@app.example.com:8443/p", "https://***@app.example.com:8443/p"),
            ("user:s3cret@app.example.com", "***@app.example.com"),
            ("user:s3cret@app.example.com/p?q", "***@app.example.com/p?***"),
            ("https://hooks.example.com/webhook?key=s3cret", "https://hooks.example.com/webhook?***"),
            ("https://hooks.example.com/x#s3cret", "https://hooks.example.com/x#***"),
            ("https://user:s3cret@[::1", "https://***@[::1"),
            ("http://proxy:3128", "http://proxy:3128"),
            ("", ""),
            ("not a url", "not a url"),
            // Found by the fuzz pass: credentials after a slash in a text without a scheme.
            ("/user:s3cret@:65535#x", "/***@:65535#***"),
            (":1/api;user:s3cret@?x", ":1/***@?***"),
        ]
        for (url, printed) in cases {
            XCTAssertEqual(RedactedURL.text(url), printed, url)
        }
    }
}
