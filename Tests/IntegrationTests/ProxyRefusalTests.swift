import Foundation
import PostgresClient
@testable import ProcessJobsCore
import XCTest

/// An HTTPS proxy (Debian's tinyproxy) that refuses to open the tunnel to the app: no request
/// reached the app, so nothing is charged, the refusals count toward the exit-69 circuit, and
/// the error names the proxy (without its credentials).
final class ProxyRefusalTests: IntegrationTestCase {
    private let tinyproxy = "/usr/bin/tinyproxy"

    /// tinyproxy on a free loopback port with `rules` added to its configuration.
    private func startProxy(_ rules: String) throws -> (port: Int, child: Child) {
        guard FileManager.default.isExecutableFile(atPath: tinyproxy) else {
            throw XCTSkip("tinyproxy is not installed (Debian package tinyproxy; scripts/setup installs it)")
        }
        let directory = NSTemporaryDirectory() + "pj-tinyproxy-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: directory) }
        let port = Fault.freePort()
        try """
            Port \(port)
            Listen 127.0.0.1
            Timeout 10
            MaxClients 16
            \(rules)
            """.write(toFile: directory + "/tinyproxy.conf", atomically: true, encoding: .utf8)
        let child = try Child(tinyproxy, ["-d", "-c", directory + "/tinyproxy.conf"], environment: binaryEnvironment([:]))
        addTeardownBlock {
            child.signal(SIGTERM)
            _ = child.wait(timeout: 10)
            child.cleanUp()
        }
        awaitCondition("tinyproxy to listen", timeout: 20) {
            !child.isRunning || (try? shell("/usr/bin/env", ["curl", "-s", "-o", "/dev/null", "http://127.0.0.1:\(port)/"], timeout: 5))?.status == 0
        }
        XCTAssertTrue(child.isRunning, child.stderr)
        return (port, child)
    }

    private func assertRefusedAndUncharged(proxy: String, proxyPort: Int, connectCode: Int, file: StaticString = #filePath, line: UInt = #line) throws {
        try db.insertJobs("generate-image", count: 5)
        var env = environment(app: nil)
        env["APP_URL"] = "https://app.example.invalid"
        env["HTTPS_PROXY"] = proxy
        let result = try runBinary(["run", "--concurrency", "1", "--log-format", "json"], environment: env)
        XCTAssertEqual(result.status, 69, result.stderr, file: file, line: line)
        let last = result.stderr.split(separator: "\n").last.map(String.init) ?? ""
        XCTAssertTrue(last.contains("the proxy http://127.0.0.1:\(proxyPort) refused to open a tunnel to the app (HTTP \(connectCode))")
                      || last.contains("the proxy http://***@127.0.0.1:\(proxyPort) refused to open a tunnel to the app (HTTP \(connectCode))"),
                      last, file: file, line: line)
        XCTAssertTrue(last.contains("HTTPS_PROXY"), "says what to fix: \(last)", file: file, line: line)
        XCTAssertFalse(result.stderr.contains("connection lost after sending"), result.stderr, file: file, line: line)
        XCTAssertFalse(result.stderr.contains("s3cret"), "the proxy's password is never printed", file: file, line: line)
        XCTAssertEqual(try db.count(where: "status = 'pending' AND retry_count = 0 AND locked_by IS NULL"), try db.count(where: "true"),
                       "nothing charged, nothing left leased", file: file, line: line)
    }

    /// 403: the proxy's rules do not allow a tunnel to port 443.
    func testForbiddenTunnelIsNothingSent() throws {
        let proxy = try startProxy("ConnectPort 8443")
        try assertRefusedAndUncharged(proxy: "http://127.0.0.1:\(proxy.port)", proxyPort: proxy.port, connectCode: 403)
    }

    /// 407: the proxy wants credentials; 401 (tinyproxy's answer): the ones given are wrong.
    func testProxyAuthenticationRefusedIsNothingSentAndTheProxyPasswordStaysHidden() throws {
        let proxy = try startProxy("BasicAuth user right")
        try assertRefusedAndUncharged(proxy: "http://127.0.0.1:\(proxy.port)", proxyPort: proxy.port, connectCode: 407)
        try db.query("UPDATE job_queue SET run_at = now()")  // skip the uncharged delay
        try assertRefusedAndUncharged(proxy: "http://user:s3cret@127.0.0.1:\(proxy.port)", proxyPort: proxy.port, connectCode: 401)
    }
}
