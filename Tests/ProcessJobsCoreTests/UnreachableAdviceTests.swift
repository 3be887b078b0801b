import XCTest
@testable import ProcessJobsCore

final class UnreachableAdviceTests: XCTestCase {
    func testAdviceFitsTheFailure() {
        let cases: [(error: String, words: String)] = [
            ("request not sent: Failed to connect to 127.0.0.1 port 9: Connection refused (curl 7)", "start the app or fix the app URL"),
            ("request not sent: Could not resolve host: app.invalid (curl 6)", "start the app or fix the app URL"),
            ("request not sent: SSL certificate problem: unable to get local issuer certificate (curl 60)", "CURL_CA_BUNDLE"),
            ("request not sent: SSL: no alternative certificate subject name matches target host name 'x' (curl 60)", "CURL_CA_BUNDLE"),
            ("request not sent: OpenSSL SSL_connect: Connection reset by peer (curl 35)", "CURL_CA_BUNDLE"),
            ("request not sent: error setting certificate file: /nope (curl 77)", "CURL_CA_BUNDLE"),
            ("request not sent: Could not resolve proxy: proxy.invalid (curl 5)", "HTTPS_PROXY"),
            ("request not sent: the proxy http://127.0.0.1:8888 refused to open a tunnel to the app (HTTP 403) (curl 56)", "HTTPS_PROXY"),
            ("no curl code at all", "start the app or fix the app URL"),
            ("(curl 99999999999999999999999)", "start the app or fix the app URL"),
        ]
        for (error, words) in cases {
            XCTAssertTrue(UnreachableAdvice.advice(for: error).contains(words), "\(error) -> \(UnreachableAdvice.advice(for: error))")
        }
    }
}
