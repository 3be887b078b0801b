@testable import HealthServer
import XCTest

final class HealthRoutesTests: XCTestCase {
    private func routes(healthy: Bool) -> HealthRoutes {
        HealthRoutes(metrics: { "m 1\n" }, health: { .init(healthy: healthy, detail: "turned 1s ago") })
    }

    func testTheTwoPaths() {
        XCTAssertEqual(routes(healthy: true).respond(method: "GET", path: "/metrics"),
                       .init(status: 200, contentType: HealthRoutes.metricsType, body: "m 1\n"))
        XCTAssertEqual(routes(healthy: true).respond(method: "GET", path: "/healthz").status, 200)
        XCTAssertEqual(routes(healthy: true).respond(method: "HEAD", path: "/healthz").status, 200)
        let stale = routes(healthy: false).respond(method: "GET", path: "/healthz")
        XCTAssertEqual(stale.status, 503)
        XCTAssertEqual(stale.body, "unhealthy: turned 1s ago\n")
    }

    func testEverythingElse() {
        for path in ["/", "/metrics/", "/healthz/x", "/METRICS", ""] {
            XCTAssertEqual(routes(healthy: true).respond(method: "GET", path: path).status, 404, path)
        }
        for method in ["POST", "PUT", "DELETE", "get"] {
            XCTAssertEqual(routes(healthy: true).respond(method: method, path: "/metrics").status, 405, method)
        }
    }
}
