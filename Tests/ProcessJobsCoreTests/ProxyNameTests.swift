import XCTest
@testable import ProcessJobsCore

final class ProxyNameTests: XCTestCase {
    func testTheVariableLibcurlReadsRedacted() {
        let environment = ["https_proxy": "http://user:s3cret@proxy.example:3128", "HTTP_PROXY": "http://upper:8080",
                           "all_proxy": "socks5://fallback:1080"]
        XCTAssertEqual(ProxyName.forURL("https://app.example/x") { environment[$0] }, "http://***@proxy.example:3128")
        // libcurl ignores HTTP_PROXY in upper case (a CGI header could set it): all_proxy it is.
        XCTAssertEqual(ProxyName.forURL("http://app.example/x") { environment[$0] }, "socks5://fallback:1080")
        XCTAssertEqual(ProxyName.forURL("https://app.example/x") { ["HTTPS_PROXY": "http://p:1"][$0] }, "http://p:1")
        XCTAssertEqual(ProxyName.forURL("https://app.example/x") { ["https_proxy": ""][$0] }, "(from the environment)")
    }
}
