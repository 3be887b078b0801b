import XCTest
@testable import ProcessJobsCore

final class RunConfigurationTests: XCTestCase {
    private func resolve(_ environment: [String: String] = [:], _ configure: (inout RunFlags) -> Void = { _ in })
        throws -> RunConfiguration {
        var flags = RunFlags()
        configure(&flags)
        return try RunConfiguration.resolve(flags, environment: environment)
    }

    /// The error `configure` leads to, or nil (with a failure) when it resolves.
    private func failure(_ environment: [String: String] = [:], _ configure: (inout RunFlags) -> Void,
                         line: UInt = #line) -> ConfigError? {
        var flags = RunFlags()
        configure(&flags)
        do {
            _ = try RunConfiguration.resolve(flags, environment: environment)
            XCTFail("expected an error", line: line)
            return nil
        } catch {
            return error
        }
    }

    private func assertUsage(_ configure: (inout RunFlags) -> Void, mentions hint: String, line: UInt = #line) {
        guard case .usage(let text)? = failure([:], configure, line: line) else {
            return XCTFail("expected a usage error mentioning \(hint)", line: line)
        }
        XCTAssertTrue(text.contains(hint), text, line: line)
    }

    func testDefaults() throws {
        let configuration = try resolve()
        let settings = configuration.settings
        XCTAssertEqual(settings.batchSize, 50)
        XCTAssertEqual(settings.concurrency, 16)
        XCTAssertEqual(settings.requestTimeout, 120)
        XCTAssertEqual(settings.lease, 300)
        XCTAssertEqual(settings.maxRuntime, 300)
        XCTAssertEqual(settings.grace, 25)
        XCTAssertFalse(settings.once)
        XCTAssertEqual(settings.retry, .standard)
        XCTAssertEqual(settings.routeConcurrency, [:])
        XCTAssertNil(settings.seed)
        XCTAssertEqual(configuration.appURL.description, "http://localhost:3000")
        XCTAssertEqual(configuration.routes, try Routes())
        XCTAssertEqual(configuration.targets, [
            "generate-image": "http://localhost:3000/api/process-image",
            "generate-complete-pack": "http://localhost:3000/api/process-complete-pack",
            "generate-aplus": "http://localhost:3000/api/process-aplus",
        ])
    }

    func testPassThrough() throws {
        let settings = try resolve {
            $0.batchSize = 10
            $0.concurrency = 4
            $0.requestTimeout = "30s"
            $0.grace = "10s"
            $0.once = true
            $0.seed = 42
            $0.backoffBase = "1m"
            $0.backoffMax = "10m"
        }.settings
        XCTAssertEqual(settings.batchSize, 10)
        XCTAssertEqual(settings.concurrency, 4)
        XCTAssertEqual(settings.requestTimeout, 30)
        XCTAssertEqual(settings.lease, 120, "default lease is twice the request timeout plus a minute")
        XCTAssertEqual(settings.grace, 10)
        XCTAssertTrue(settings.once)
        XCTAssertEqual(settings.seed, 42)
        XCTAssertEqual(settings.retry.base, 60)
        XCTAssertEqual(settings.retry.cap, 600)
        XCTAssertEqual(settings.retry.jitter, RetryPolicy.standard.jitter)
    }

    // MARK: app URL

    func testAppURLPrecedence() throws {
        let cases: [(flag: String?, nextPublic: String?, app: String?, expected: String)] = [
            (nil, nil, nil, "http://localhost:3000"),
            (nil, nil, "https://app.example", "https://app.example"),
            (nil, "https://next.example", "https://app.example", "https://next.example"),
            (nil, "https://next.example", nil, "https://next.example"),
            ("https://flag.example", "https://next.example", "https://app.example", "https://flag.example"),
            ("https://flag.example", nil, nil, "https://flag.example"),
            // Empty variables count as unset.
            (nil, "", "https://app.example", "https://app.example"),
            (nil, "", "", "http://localhost:3000"),
            // A bad variable that is not used does not matter.
            (nil, "https://next.example", "ftp://bad", "https://next.example"),
            ("https://flag.example", "ftp://bad", "ftp://bad", "https://flag.example"),
        ]
        for (flag, nextPublic, app, expected) in cases {
            var environment: [String: String] = [:]
            environment["NEXT_PUBLIC_APP_URL"] = nextPublic
            environment["APP_URL"] = app
            let configuration = try resolve(environment) { $0.appURL = flag }
            XCTAssertEqual(configuration.appURL.description, expected, "\(String(describing: flag)) \(environment)")
            XCTAssertEqual(configuration.targets["generate-image"], expected + "/api/process-image")
        }
    }

    func testBadEnvironmentURLIsAConfigurationErrorNamingTheVariable() {
        let cases: [(environment: [String: String], name: String)] = [
            (["NEXT_PUBLIC_APP_URL": "http://app.example"], "NEXT_PUBLIC_APP_URL"),
            (["NEXT_PUBLIC_APP_URL": "app.example", "APP_URL": "https://app.example"], "NEXT_PUBLIC_APP_URL"),
            (["APP_URL": "ftp://app.example"], "APP_URL"),
            (["NEXT_PUBLIC_APP_URL": "", "APP_URL": "https://app.example/?x=1"], "APP_URL"),
        ]
        for (environment, name) in cases {
            guard case .configuration(let text)? = failure(environment, { _ in }) else {
                XCTFail("\(environment) should be a configuration error")
                continue
            }
            XCTAssertTrue(text.hasPrefix(name + ": "), text)
        }
    }

    func testInsecureEnvironmentURLAllowedWhenAsked() throws {
        let configuration = try resolve(["APP_URL": "http://app.internal:8080/base/"]) { $0.allowInsecureHTTP = true }
        XCTAssertEqual(configuration.targets["generate-aplus"], "http://app.internal:8080/base/api/process-aplus")
    }

    func testBadFlagURLIsAUsageError() {
        for text in ["http://app.example", "app.example", "https://user:pw@app.example", "https://a.b:0"] {
            guard case .usage(let message)? = failure(["APP_URL": "https://fine.example"], { $0.appURL = text }) else {
                XCTFail("--app-url \(text) should be a usage error")
                continue
            }
            XCTAssertTrue(message.hasPrefix("--app-url: "), message)
        }
        XCTAssertNoThrow(try resolve { $0.appURL = "http://app.example"; $0.allowInsecureHTTP = true })
    }

    // MARK: durations and sizes

    func testLeaseMustCoverTwoRequests() throws {
        assertUsage({ $0.requestTimeout = "60s"; $0.lease = "100s" }, mentions: "--lease (100s) must be at least twice --request-timeout (60s)")
        assertUsage({ $0.lease = "3m" }, mentions: "must be at least twice --request-timeout")
        XCTAssertEqual(try resolve { $0.requestTimeout = "60s"; $0.lease = "120s" }.settings.lease, 120)
        XCTAssertEqual(try resolve { $0.requestTimeout = "200"; $0.lease = nil }.settings.lease, 460)
        XCTAssertEqual(try resolve { $0.lease = "10m" }.settings.lease, 600)
    }

    func testBadDurationsAreUsageErrors() {
        let flags: [(name: String, set: (inout RunFlags, String) -> Void)] = [
            ("--request-timeout", { $0.requestTimeout = $1 }),
            ("--lease", { $0.lease = $1 }),
            ("--max-runtime", { $0.maxRuntime = $1 }),
            ("--grace", { $0.grace = $1 }),
            ("--backoff-base", { $0.backoffBase = $1 }),
            ("--backoff-max", { $0.backoffMax = $1 }),
        ]
        for (name, set) in flags {
            for value in ["0", "0s", "-5", "abc", "", "5x", "1e3"] {
                // --max-runtime 0 means no limit (tested below).
                if name == "--max-runtime" && (value == "0" || value == "0s") { continue }
                assertUsage({ set(&$0, value) }, mentions: name)
            }
        }
    }

    func testMaxRuntime() throws {
        XCTAssertEqual(try resolve().settings.maxRuntime, 300)
        XCTAssertNil(try resolve { $0.maxRuntime = "0" }.settings.maxRuntime)
        XCTAssertNil(try resolve { $0.maxRuntime = "0s" }.settings.maxRuntime)
        XCTAssertNil(try resolve { $0.maxRuntime = "0ms" }.settings.maxRuntime)
        XCTAssertEqual(try resolve { $0.maxRuntime = "90s" }.settings.maxRuntime, 90)
        XCTAssertEqual(try resolve { $0.maxRuntime = "2h" }.settings.maxRuntime, 7200)
    }

    func testBackoffMaxNotShorterThanBase() {
        assertUsage({ $0.backoffBase = "10m"; $0.backoffMax = "1m" }, mentions: "--backoff-max")
        assertUsage({ $0.backoffBase = "2h" }, mentions: "--backoff-max")
        XCTAssertNoThrow(try resolve { $0.backoffBase = "1m"; $0.backoffMax = "1m" })
    }

    func testBatchSizeAndConcurrencyRanges() throws {
        for value in [0, -1, 10_001, Int.max] {
            assertUsage({ $0.batchSize = value }, mentions: "--batch-size must be between 1 and 10000")
        }
        for value in [1, 10_000] {
            XCTAssertEqual(try resolve { $0.batchSize = value }.settings.batchSize, value)
        }
        for value in [0, -1, 1025, Int.min] {
            assertUsage({ $0.concurrency = value }, mentions: "--concurrency must be between 1 and 1024")
        }
        for value in [1, 1024] {
            XCTAssertEqual(try resolve { $0.concurrency = value }.settings.concurrency, value)
        }
    }

    // MARK: routes

    func testJobTypeWithoutRoute() throws {
        assertUsage({ $0.jobTypes = ["resize"] }, mentions: "--job-type resize has no route: add --route resize=")
        assertUsage({ $0.jobTypes = ["generate-image"]; $0.routes = ["generate-image="] }, mentions: "--job-type generate-image")
        let configuration = try resolve { $0.jobTypes = ["resize"]; $0.routes = ["resize=/api/resize"] }
        XCTAssertEqual(configuration.targets, ["resize": "http://localhost:3000/api/resize"])
    }

    func testTargetsOnlyForClaimedTypes() throws {
        let configuration = try resolve(["APP_URL": "https://app.example/base/"]) {
            $0.jobTypes = ["generate-image", "hook"]
            $0.routes = ["hook=https://hooks.example/x"]
        }
        XCTAssertEqual(configuration.targets, [
            "generate-image": "https://app.example/base/api/process-image",
            "hook": "https://hooks.example/x",
        ])
        XCTAssertEqual(configuration.routes.types, ["generate-aplus", "generate-complete-pack", "generate-image", "hook"])

        let removed = try resolve { $0.routes = ["generate-aplus="] }
        XCTAssertEqual(Set(removed.targets.keys), ["generate-image", "generate-complete-pack"])
    }

    func testBadRouteIsAUsageError() {
        assertUsage({ $0.routes = ["generate-image"] }, mentions: "must look like TYPE=PATH")
        assertUsage({ $0.routes = ["bad type=/x"] }, mentions: "printable ASCII")
    }

    func testRouteConcurrency() throws {
        let settings = try resolve { $0.routeConcurrency = ["generate-image=2", "generate-aplus=1"] }.settings
        XCTAssertEqual(settings.routeConcurrency, ["generate-image": 2, "generate-aplus": 1])

        for text in ["generate-image", "generate-image=", "generate-image=0", "generate-image=-1", "generate-image=x",
                     "generate-image=2=3", "generate-image= 2", "=2"] {
            assertUsage({ $0.routeConcurrency = [text] }, mentions: "must look like TYPE=N with N at least 1")
        }
        assertUsage({ $0.routeConcurrency = ["resize=2"] }, mentions: "--route-concurrency resize: no such route")
        XCTAssertEqual(try resolve { $0.routes = ["resize=/r"]; $0.routeConcurrency = ["resize=3"] }.settings.routeConcurrency,
                       ["resize": 3])
    }

    /// Absolute route URLs follow the app URL's rules: plain http only to loopback unless
    /// allowed, no credentials (and none printed).
    func testAbsoluteRouteURLsAreChecked() throws {
        assertUsage({ $0.routes = ["generate-image=http://hooks.example.com/x"] }, mentions: "--allow-insecure-http")
        assertUsage({ $0.routes = ["generate-image=http://hooks.example.com/x"] }, mentions: "--route generate-image: ")
        XCTAssertNoThrow(try resolve { $0.routes = ["generate-image=http://hooks.example.com/x"]; $0.allowInsecureHTTP = true })
        XCTAssertNoThrow(try resolve { $0.routes = ["generate-image=http://127.0.0.1:9000/x"] })
        XCTAssertNoThrow(try resolve { $0.routes = ["generate-image=https://hooks.example.com/x?key=1"] })
        for route in ["generate-image=https://user:s3cret@hooks.example.com/x", "generate-image=https://s3cret@hooks.example.com",
                      "generate-image=https://:s3cret@[::1]:8443/x"] {
            guard case .usage(let text)? = failure([:], { $0.routes = [route] }) else { return XCTFail(route) }
            XCTAssertTrue(text.contains("credentials"), text)
            XCTAssertTrue(text.contains("--route-token"), text)
            XCTAssertFalse(text.contains("s3cret"), text)
        }
        // A route that is removed or not claimed is still checked: a typo is a typo.
        assertUsage({ $0.routes = ["generate-image=https://:99999/x"] }, mentions: "valid host")
    }

    func testRouteTokenFlags() throws {
        let configuration = try resolve { $0.routes = ["hook=https://hooks.example.com/x"]; $0.routeTokens = ["hook=/etc/hook-token"] }
        XCTAssertEqual(configuration.routeTokenFiles, ["hook": "/etc/hook-token"])
        XCTAssertEqual(configuration.foreignTypes, ["hook"])
        for text in ["hook", "hook=", "=x"] {
            assertUsage({ $0.routes = ["hook=/x"]; $0.routeTokens = [text] }, mentions: "must look like TYPE=FILE")
        }
        assertUsage({ $0.routeTokens = ["resize=/etc/t"] }, mentions: "--route-token resize: no such route")
    }

    func testPayloadLimits() throws {
        let defaults = try resolve().settings
        XCTAssertEqual(defaults.maxPayload, 10 << 20)
        XCTAssertEqual(defaults.maxInflightBytes, 64 << 20)
        let set = try resolve { $0.maxPayload = "512KiB"; $0.maxInflightBytes = "1000000" }.settings
        XCTAssertEqual(set.maxPayload, 512 * 1024)
        XCTAssertEqual(set.maxInflightBytes, 1_000_000)
        assertUsage({ $0.maxPayload = "10MB" }, mentions: "--max-payload")
        assertUsage({ $0.maxPayload = "0" }, mentions: "--max-payload must be greater than zero")
        assertUsage({ $0.maxInflightBytes = "-1" }, mentions: "--max-inflight-bytes")
        assertUsage({ $0.maxInflightBytes = "0" }, mentions: "--max-inflight-bytes must be greater than zero")
    }

    func testOnFailureRoutesItsTypeToApiType() throws {
        let configuration = try resolve { $0.onFailure = "job-failed" }
        XCTAssertEqual(configuration.settings.onFailure, "job-failed")
        XCTAssertEqual(configuration.routes.target(for: "job-failed"), "/api/job-failed")
        XCTAssertEqual(configuration.targets["job-failed"], "http://localhost:3000/api/job-failed", "claimed like every routed type")
        XCTAssertNil(try resolve().targets["job-failed"], "without the flag nothing changes")
        XCTAssertNil(try resolve().settings.onFailure)
    }

    func testARouteForTheFailureTypeWins() throws {
        let moved = try resolve { $0.onFailure = "job-failed"; $0.routes = ["job-failed=/hooks/failed"] }
        XCTAssertEqual(moved.targets["job-failed"], "http://localhost:3000/hooks/failed")
        let removed = try resolve { $0.onFailure = "job-failed"; $0.routes = ["job-failed="] }
        XCTAssertNil(removed.targets["job-failed"], "routed nowhere by this run: another may claim it")
        XCTAssertEqual(removed.settings.onFailure, "job-failed", "still queued")
    }

    func testOnFailureTypeIsClaimedSubjectToJobType() throws {
        let configuration = try resolve { $0.onFailure = "job-failed"; $0.jobTypes = ["generate-image"] }
        XCTAssertEqual(Set(configuration.targets.keys), ["generate-image"])
        XCTAssertEqual(Set(try resolve { $0.onFailure = "job-failed"; $0.jobTypes = ["job-failed"] }.targets.keys), ["job-failed"])
    }

    func testOnFailureTypeMustBeAJobType() {
        assertUsage({ $0.onFailure = "job failed" }, mentions: "--on-failure")
        assertUsage({ $0.onFailure = "" }, mentions: "--on-failure")
    }
}
