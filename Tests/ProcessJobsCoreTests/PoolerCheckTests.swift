import XCTest
@testable import ProcessJobsCore

final class PoolerCheckTests: XCTestCase {
    func testTheErrorIsOneConfigurationLineNamingBothWaysOut() {
        guard case .configuration(let text) = PoolerCheck.error(source: "the main connection") else { return XCTFail("exit 78") }
        XCTAssertFalse(text.contains("\n"))
        for needed in ["direct or session-mode connection", "--listen-database-url", "PROCESS_JOBS_LISTEN_DATABASE_URL", "5s", "the main connection"] {
            XCTAssertTrue(text.contains(needed), "\(needed) in: \(text)")
        }
    }

    func testPayloadsDifferAndCarryThePrefix() {
        let first = PoolerCheck.payload(random: 1), second = PoolerCheck.payload(random: 0xdead_beef)
        XCTAssertNotEqual(first, second)
        XCTAssertTrue(first.hasPrefix(PoolerCheck.payloadPrefix))
        XCTAssertLessThan(PoolerCheck.payload(random: .max).utf8.count, 8000, "within NOTIFY's payload limit")
    }

    func testARefusedListenSaysSoWithTheSameWaysOut() {
        guard case .configuration(let text) = PoolerCheck.refused(source: "--listen-database-url", message: "LISTEN is not supported")
        else { return XCTFail("exit 78") }
        XCTAssertTrue(text.contains("--listen-database-url refused LISTEN (LISTEN is not supported)"), text)
        XCTAssertTrue(text.contains("use the direct or session-mode connection for --listen"), text)
    }
}
