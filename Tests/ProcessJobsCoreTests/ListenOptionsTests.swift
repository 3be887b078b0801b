import XCTest
@testable import ProcessJobsCore

final class ListenOptionsTests: XCTestCase {
    private func typed(_ change: (inout ListenOptions.Typed) -> Void) -> ListenOptions.Typed {
        var typed = ListenOptions.Typed()
        typed.listen = true
        change(&typed)
        return typed
    }

    func testDefaults() throws {
        let options = try XCTUnwrap(ListenOptions.resolve(typed { _ in }, environment: [:], main: "postgresql:///main"))
        XCTAssertEqual(options.pollInterval, 30)
        XCTAssertEqual(options.metricsInterval, 15)
        XCTAssertNil(options.http)
        XCTAssertEqual(options.database, ListenDatabaseURL(conninfo: "postgresql:///main", source: "the main connection"))
    }

    func testFlagsAndTheEnvironment() throws {
        let options = try XCTUnwrap(ListenOptions.resolve(typed {
            $0.pollInterval = "1s"
            $0.metricsInterval = "500ms"
            $0.http = "127.0.0.1:9464"
        }, environment: [ListenDatabaseURL.environmentName: "postgresql://direct/db"], main: nil))
        XCTAssertEqual(options.pollInterval, 1)
        XCTAssertEqual(options.metricsInterval, 0.5)
        XCTAssertEqual(options.http, "127.0.0.1:9464")
        XCTAssertEqual(options.database.source, ListenDatabaseURL.environmentName)
    }

    func testOnceOrEveryWithListenIsAUsageError() {
        for change: (inout ListenOptions.Typed) -> Void in [{ $0.once = true }, { $0.every = "1s" }] {
            XCTAssertThrowsError(try ListenOptions.resolve(typed(change), environment: [:], main: nil)) { error in
                guard case ConfigError.usage(let message) = error else { return XCTFail("\(error)") }
                XCTAssertTrue(message.contains("--listen"), message)
            }
        }
    }

    func testListenFlagsWithoutListenAndBadDurationsAreRefused() {
        var plain = ListenOptions.Typed()
        XCTAssertNil(try ListenOptions.resolve(plain, environment: [:], main: nil))
        plain.pollInterval = "5s"
        XCTAssertThrowsError(try ListenOptions.resolve(plain, environment: [:], main: nil))
        XCTAssertThrowsError(try ListenOptions.resolve(typed { $0.pollInterval = "0s" }, environment: [:], main: nil))
        XCTAssertThrowsError(try ListenOptions.resolve(typed { $0.metricsInterval = "soon" }, environment: [:], main: nil))
    }
}
