import Foundation
import XCTest
@testable import ProcessJobsCore

final class CredentialsTests: XCTestCase {
    private func token(_ value: String) throws -> Token { try Token.check(value, source: "test") }

    func testTheKeyGoesOnlyToTheAppsOrigin() throws {
        let credentials = Credentials(appToken: try token("key"), routeTokens: ["hook": try token("hook-token")],
                                      foreignTypes: ["hook", "elsewhere"])
        XCTAssertEqual(credentials.token(for: "generate-image")?.value, "key")
        XCTAssertEqual(credentials.token(for: "hook")?.value, "hook-token")
        XCTAssertNil(credentials.token(for: "elsewhere"))
        // A route token at the app's own origin replaces the key for that route.
        let own = Credentials(appToken: try token("key"), routeTokens: ["generate-image": try token("own")])
        XCTAssertEqual(own.token(for: "generate-image")?.value, "own")
    }

    func testForeignTypesFromTheConfiguration() throws {
        func foreign(_ routes: [String], appURL: String = "https://app.example.com/base") throws -> Set<String> {
            var flags = RunFlags()
            flags.routes = routes
            flags.appURL = appURL
            return try RunConfiguration.resolve(flags, environment: [:]).foreignTypes
        }
        XCTAssertEqual(try foreign([]), [])
        XCTAssertEqual(try foreign(["generate-image=https://app.example.com/other"]), [], "same origin, other path")
        XCTAssertEqual(try foreign(["generate-image=https://APP.example.com:443/x"]), [], "default port, case of the host")
        XCTAssertEqual(try foreign(["generate-image=https://app.example.com:8443/x"]), ["generate-image"], "another port")
        XCTAssertEqual(try foreign(["generate-image=http://localhost/x"], appURL: "https://localhost"), ["generate-image"], "another scheme")
        XCTAssertEqual(try foreign(["generate-image=https://hooks.example.com/x?key=1"]), ["generate-image"], "another host")
        XCTAssertEqual(try foreign(["generate-image=https://app.example.com.evil/x"]), ["generate-image"])
    }

    func testLoadReadsRouteTokensLikeTheTokenFile() throws {
        let directory = NSTemporaryDirectory() + "pj-credentials-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try "hook-token\n".write(toFile: directory + "/hook", atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: directory + "/hook")
        var flags = RunFlags()
        flags.appURL = "https://app.example.com"
        flags.routes = ["generate-aplus=https://hooks.example.com/x"]
        flags.routeTokens = ["generate-aplus=" + directory + "/hook"]
        let configuration = try RunConfiguration.resolve(flags, environment: [:])
        var warnings: [String] = []
        let credentials = try Credentials.load(tokenFile: nil, configuration: configuration,
                                               environment: ["SUPABASE_SERVICE_ROLE_KEY": "key"]) { warnings.append($0) }
        XCTAssertEqual(credentials.token(for: "generate-aplus")?.value, "hook-token")
        XCTAssertEqual(credentials.token(for: "generate-image")?.value, "key")
        XCTAssertEqual(warnings.count, 1)
        XCTAssertTrue(warnings.first?.hasPrefix("--route-token generate-aplus: ") ?? false, "\(warnings)")

        flags.routeTokens = ["generate-aplus=" + directory + "/missing"]
        XCTAssertThrowsError(try Credentials.load(tokenFile: nil, configuration: try RunConfiguration.resolve(flags, environment: [:]),
                                                  environment: ["SUPABASE_SERVICE_ROLE_KEY": "key"]) { _ in }) { error in
            guard case ConfigError.usage(let text) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(text.hasPrefix("--route-token generate-aplus: "), text)
        }
    }

    private let firstSecret = "whsec_" + Data(repeating: 0x11, count: 32).base64EncodedString()
    private let secondSecret = "whsec_" + Data(repeating: 0x22, count: 32).base64EncodedString()

    /// --no-bearer-token: only with a secret (else a usage error, 64); then no token is needed
    /// and no request carries one, not even a route's own.
    func testNoBearerToken() throws {
        var flags = RunFlags()
        flags.appURL = "https://app.example.com"
        let configuration = try RunConfiguration.resolve(flags, environment: [:])
        XCTAssertThrowsError(try Credentials.load(tokenFile: nil, bearerToken: false, configuration: configuration,
                                                  environment: ["SUPABASE_SERVICE_ROLE_KEY": "key"]) { _ in }) { error in
            guard case ConfigError.usage(let text) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(text.hasPrefix("--no-bearer-token needs a signing secret"), text)
        }
        let signedOnly = try Credentials.load(tokenFile: nil, bearerToken: false, configuration: configuration,
                                              environment: ["PROCESS_JOBS_SIGNING_SECRET": firstSecret]) { _ in }
        XCTAssertNil(signedOnly.token(for: "generate-image"))
        XCTAssertEqual(signedOnly.signing?.keys.count, 1)
        XCTAssertEqual(signedOnly.summary, "no bearer token, signed with a secret from PROCESS_JOBS_SIGNING_SECRET")

        // A route's own token contradicts --no-bearer-token: refused, not silently dropped.
        flags.routes = ["hook=https://hooks.example.com/x"]
        flags.routeTokens = ["hook=/etc/process-jobs/hook-token"]
        XCTAssertThrowsError(try Credentials.load(tokenFile: nil, bearerToken: false,
                                                  configuration: try RunConfiguration.resolve(flags, environment: [:]),
                                                  environment: ["PROCESS_JOBS_SIGNING_SECRET": firstSecret]) { _ in }) { error in
            guard case ConfigError.usage(let text) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(text.hasPrefix("--route-token and --no-bearer-token contradict each other"), text)
        }

        // With the token too: both, and the summary names both sources.
        let both = try Credentials.load(tokenFile: nil, configuration: configuration,
                                        environment: ["PROCESS_JOBS_SIGNING_SECRET": "\(firstSecret) \(secondSecret)", "SUPABASE_SERVICE_ROLE_KEY": "key"]) { _ in }
        XCTAssertEqual(both.token(for: "generate-image")?.value, "key")
        XCTAssertEqual(both.summary, "token from SUPABASE_SERVICE_ROLE_KEY, signed with 2 secrets from PROCESS_JOBS_SIGNING_SECRET")
    }
}
