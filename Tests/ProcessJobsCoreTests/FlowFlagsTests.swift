import XCTest
@testable import ProcessJobsCore

/// --route-rate, --route-burst, --route-concurrency, --fair-by and --user-concurrency, resolved.
final class FlowFlagsTests: XCTestCase {
    private func resolve(_ configure: (inout RunFlags) -> Void) throws -> RunSettings {
        var flags = RunFlags()
        configure(&flags)
        return try RunConfiguration.resolve(flags, environment: [:]).settings
    }

    private func usage(_ configure: (inout RunFlags) -> Void, line: UInt = #line) -> String {
        do {
            _ = try resolve(configure)
            XCTFail("expected a usage error", line: line)
            return ""
        } catch let error as ConfigError {
            guard case .usage(let text) = error else { XCTFail("\(error)", line: line); return "" }
            XCTAssertFalse(text.contains("\n"), "one line", line: line)
            return text
        } catch {
            XCTFail("\(error)", line: line)
            return ""
        }
    }

    func testDefaultsAreFairByUserAndNoLimits() throws {
        let settings = try resolve { _ in }
        XCTAssertEqual(settings.fairBy, .user)
        XCTAssertNil(settings.userConcurrency)
        XCTAssertEqual(settings.limits, [:])
    }

    func testRateBurstAndConcurrencyPerRoute() throws {
        let settings = try resolve {
            $0.routeRates = ["generate-image=30/1m", "generate-aplus=5/2s"]
            $0.routeBursts = ["generate-image=4"]
            $0.routeConcurrency = ["generate-image=3"]
            $0.fairBy = "none"
            $0.userConcurrency = 2
        }
        XCTAssertEqual(settings.limits["generate-image"], RouteLimits(rate: RouteRate(count: 30, period: 60, burst: 4), concurrency: 3))
        XCTAssertEqual(settings.limits["generate-aplus"], RouteLimits(rate: RouteRate(count: 5, period: 2, burst: 1)))
        XCTAssertEqual(settings.limits["generate-aplus"]?.rate?.interval, 0.4)
        XCTAssertEqual(settings.routeConcurrency, ["generate-image": 3], "the local cap stays")
        XCTAssertEqual(settings.fairBy, FairBy.none)
        XCTAssertEqual(settings.userConcurrency, 2)
    }

    func testBadValuesAreOneLineUsageErrors() {
        for bad in ["generate-image", "generate-image=30", "generate-image=0/1m", "generate-image=-1/1m", "=30/1m",
                    "generate-image=x/1m", "generate-image=30/"] {
            XCTAssertTrue(usage { $0.routeRates = [bad] }.contains("--route-rate"), bad)
        }
        XCTAssertTrue(usage { $0.routeRates = ["generate-image=30/soon"] }.contains("--route-rate generate-image"))
        XCTAssertTrue(usage { $0.routeRates = ["generate-image=30/0s"] }.contains("greater than zero"))
        XCTAssertTrue(usage { $0.routeRates = ["nowhere=30/1m"] }.contains("no such route"))
        XCTAssertTrue(usage { $0.routeBursts = ["generate-image=2"] }.contains("no --route-rate for generate-image"))
        XCTAssertTrue(usage {
            $0.routeRates = ["generate-image=30/1m"]
            $0.routeBursts = ["generate-image=0"]
        }.contains("--route-burst"))
        XCTAssertTrue(usage { $0.fairBy = "tenant" }.contains("--fair-by"))
        XCTAssertTrue(usage { $0.userConcurrency = 0 }.contains("--user-concurrency"))
    }
}
