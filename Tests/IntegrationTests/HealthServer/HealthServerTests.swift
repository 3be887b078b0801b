import Foundation
import HealthServer
import XCTest

/// The health server on a real socket with a real client (curl): both paths, the 503, a 404,
/// and a port that is taken.
final class HealthServerTests: XCTestCase {
    private final class Flag: @unchecked Sendable {
        private let lock = NSLock()
        private var value = true
        var healthy: Bool {
            get { lock.withLock { value } }
            set { lock.withLock { value = newValue } }
        }
    }

    private let metricsText = """
        # HELP process_jobs_jobs_total Jobs finished, by outcome.
        # TYPE process_jobs_jobs_total counter
        process_jobs_jobs_total{outcome="completed"} 12
        # HELP process_jobs_last_claim_timestamp_seconds When a claim last took a job.
        # TYPE process_jobs_last_claim_timestamp_seconds gauge
        process_jobs_last_claim_timestamp_seconds 1.7e9

        """

    /// Status and body of a GET with curl.
    private func get(_ server: HealthServer, _ path: String) throws -> (status: Int, body: String, type: String) {
        let result = try shell("/usr/bin/curl", ["-sS", "--max-time", "10", "-o", "-", "-w", "\n%{http_code} %{content_type}",
                                                 "http://\(server.address)\(path)"], timeout: 20)
        XCTAssertEqual(result.status, 0, result.stderr)
        let split = result.stdout.range(of: "\n", options: .backwards)!
        let trailer = result.stdout[split.upperBound...].split(separator: " ", maxSplits: 1)
        return (Int(trailer[0]) ?? -1, String(result.stdout[..<split.lowerBound]), trailer.count > 1 ? String(trailer[1]) : "")
    }

    func testMetricsHealthAndUnknownPaths() throws {
        let flag = Flag()
        let text = metricsText
        let server = try HealthServer(address: HTTPAddress(host: "127.0.0.1", port: 0), routes: HealthRoutes(
            metrics: { text }, health: { .init(healthy: flag.healthy, detail: "the loop last turned 1s ago") }))
        defer { server.stop() }
        XCTAssertNotEqual(server.address.port, 0, "the chosen port is known")

        let metrics = try get(server, "/metrics")
        XCTAssertEqual(metrics.status, 200)
        XCTAssertEqual(metrics.type, HealthRoutes.metricsType)
        let parsed = try PrometheusExposition(metrics.body)
        XCTAssertEqual(parsed.value("process_jobs_jobs_total", ["outcome": "completed"]), 12)

        XCTAssertEqual(try get(server, "/healthz").status, 200)
        flag.healthy = false
        let stale = try get(server, "/healthz")
        XCTAssertEqual(stale.status, 503)
        XCTAssertTrue(stale.body.contains("last turned"), stale.body)
        XCTAssertEqual(try get(server, "/nothing-here").status, 404)
        XCTAssertEqual(try get(server, "/metrics?x=1").status, 200, "a query string does not change the path")
    }

    func testATakenPortIsAClearError() throws {
        let first = try HealthServer(address: HTTPAddress(host: "127.0.0.1", port: 0),
                                     routes: HealthRoutes(metrics: { "" }, health: { .init(healthy: true, detail: "") }))
        defer { first.stop() }
        XCTAssertThrowsError(try HealthServer(address: first.address,
                                              routes: HealthRoutes(metrics: { "" }, health: { .init(healthy: true, detail: "") }))) { error in
            XCTAssertEqual((error as? HealthServerError)?.message, "--http \(first.address): cannot listen: Address already in use")
        }
    }

    func testStoppedServerRefusesAndItsPortIsFreeAgain() throws {
        let routes = HealthRoutes(metrics: { "" }, health: { .init(healthy: true, detail: "") })
        let server = try HealthServer(address: HTTPAddress(host: "127.0.0.1", port: 0), routes: routes)
        let address = server.address
        server.stop()
        let refused = try shell("/usr/bin/curl", ["-sS", "--max-time", "5", "http://\(address)/healthz"], timeout: 20)
        XCTAssertNotEqual(refused.status, 0, "nothing listens after stop")
        let again = try HealthServer(address: address, routes: routes)
        again.stop()
    }
}
