import Foundation
import PostgresClient
@testable import ProcessJobsCore
import XCTest

/// A route given as an absolute URL: the plain-http rule holds for it too, credentials in it are
/// refused, and the service-role key goes only to the app's own origin.
final class RouteOriginTests: IntegrationTestCase {
    private func tokenFile(_ content: String) throws -> String {
        let path = NSTemporaryDirectory() + "pj-route-token-\(UUID().uuidString)"
        try content.write(toFile: path, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
        return path
    }

    func testPlainHTTPRouteToARemoteHostIsRefused() throws {
        let app = try startApp()
        try db.insertJob("generate-aplus", payload: #"{"projectId":"p"}"#)
        let result = try runBinary(["run", "--route", "generate-aplus=http://hooks.example.com/webhook"],
                                   environment: environment(app: app))
        XCTAssertEqual(result.status, 64, result.stderr)
        XCTAssertTrue(result.stderr.contains("--allow-insecure-http"), result.stderr)
        XCTAssertTrue(result.stderr.contains("generate-aplus"), result.stderr)
        XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, result.stderr)
        XCTAssertEqual(try db.count(where: "processed_at IS NULL"), 1, "nothing claimed")

        // --allow-insecure-http lets it through the check (the host does not resolve: nothing sent).
        let allowed = try runBinary(["run", "--once", "--allow-insecure-http", "--route", "generate-aplus=http://hooks.invalid/webhook"],
                                    environment: environment(app: app))
        XCTAssertNotEqual(allowed.status, 64, allowed.stderr)
    }

    func testCredentialsInARouteURLAreRefusedUnprinted() throws {
        let app = try startApp()
        for route in ["generate-aplus=https://user:s3cret@hooks.example.com/x", "generate-aplus=https://s3cret@hooks.example.com/x"] {
            let result = try runBinary(["run", "--route", route], environment: environment(app: app))
            XCTAssertEqual(result.status, 64, result.stderr)
            XCTAssertTrue(result.stderr.contains("credentials"), result.stderr)
            XCTAssertFalse(result.stderr.contains("s3cret"), result.stderr)
        }
    }

    /// A route to another origin (here another port) gets no Authorization header; with
    /// --route-token it gets that token, and the service-role key still goes only to the app.
    func testTheKeyGoesOnlyToTheAppsOrigin() throws {
        let app = try startApp()
        let other = try startApp(token: "webhook-token")
        let foreign = try db.insertJob("generate-aplus", payload: #"{"projectId":"p"}"#)
        let own = try db.insertJob("generate-image", payload: #"{"projectId":"q"}"#)
        // The first answer comes from a rule (the other app would refuse a request without its token).
        try other.setRules(#"[{"match": {"path": "/api/process-aplus"}, "times": 1, "action": {"status": 200, "body": {"ok": true}}}]"#)
        let route = "generate-aplus=\(other.url)/api/process-aplus"
        let result = try runBinary(["run", "--route", route, "--log-format", "json"], environment: environment(app: app))
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(try db.job(foreign).status, "completed")
        XCTAssertEqual(try db.job(own).status, "completed")
        let sent = try XCTUnwrap(other.requests(forJob: foreign).first)
        XCTAssertNil(sent.headers["authorization"], "no key to another origin")
        XCTAssertEqual(try app.requests(forJob: own).first?.headers["authorization"], "Bearer test-token")

        // With its own token, the route gets that one (the other app checks it: no rule this time),
        // and the app's key still goes only to the app.
        try other.reset()
        let again = try db.insertJob("generate-aplus", payload: #"{"projectId":"p2"}"#)
        let own2 = try db.insertJob("generate-image", payload: #"{"projectId":"q2"}"#)
        let withToken = try runBinary(["run", "--route", route, "--route-token", "generate-aplus=" + (try tokenFile("webhook-token\n")),
                                       "--log-format", "json"], environment: environment(app: app))
        XCTAssertEqual(withToken.status, 0, withToken.stderr)
        XCTAssertEqual(try other.requests(forJob: again).first?.headers["authorization"], "Bearer webhook-token")
        XCTAssertEqual(try db.job(again).status, "completed")
        XCTAssertEqual(try app.requests(forJob: own2).first?.headers["authorization"], "Bearer test-token")
        let leaked = try other.requests().contains { $0.headers["authorization"]?.contains("test-token") ?? false }
        XCTAssertFalse(leaked, "the service-role key never reached the other origin")
    }

    /// A route at another origin that wants a token answers 401: the message points at --route-token.
    func testAnotherOriginAskingForATokenIsNamed() throws {
        let app = try startApp()
        let other = try startApp(token: "webhook-token")
        let id = try db.insertJob("generate-aplus", payload: #"{"projectId":"p"}"#)
        let result = try runBinary(["run", "--route", "generate-aplus=\(other.url)/api/process-aplus"], environment: environment(app: app))
        XCTAssertEqual(result.status, 77, result.stderr)
        XCTAssertTrue(result.stderr.contains("if generate-aplus answered, give it --route-token TYPE=FILE"), result.stderr)
        XCTAssertEqual(try db.job(id).retryCount, 0, "released untouched")
    }

    func testRouteTokenIsReadLikeTheTokenFile() throws {
        let app = try startApp()
        let cases: [(arguments: [String], status: Int32, words: String)] = [
            (["--route-token", "generate-aplus"], 64, "TYPE=FILE"),
            (["--route-token", "no-such-type=/dev/null"], 64, "no such route"),
            (["--route-token", "generate-aplus=/nonexistent/token"], 64, "does not exist"),
            (["--route-token", "generate-aplus=" + (try tokenFile("two words"))], 78, "spaces"),
            (["--route-token", "generate-aplus=" + (try tokenFile(""))], 78, "is empty"),
            (["--route-token", "generate-aplus=/dev/zero"], 78, "not a regular file"),
        ]
        for check in cases {
            let result = try runBinary(["run"] + check.arguments, environment: environment(app: app))
            XCTAssertEqual(result.status, check.status, "\(check.arguments): \(result.stderr)")
            XCTAssertTrue(result.stderr.contains(check.words), "\(check.arguments): \(result.stderr)")
            XCTAssertTrue(result.stderr.contains("--route-token"), "\(check.arguments): \(result.stderr)")
        }
    }

    /// `check` probes a route at another origin without the key too (or with its --route-token),
    /// and prints route URLs without their query (where webhook keys live).
    func testCheckProbesAnotherOriginWithoutTheKey() throws {
        let app = try startApp()
        let other = try startApp(token: "webhook-token")
        let route = "generate-aplus=\(other.url)/api/process-aplus?key=s3cret"
        let result = try runBinary(["check", "--route", route], environment: environment(app: app))
        XCTAssertTrue(result.stdout.contains("✗ route generate-aplus: \(other.url)/api/process-aplus?***: HTTP 401"), result.stdout)
        XCTAssertFalse(result.stdout.contains("s3cret"), result.stdout)
        XCTAssertNil(try other.requests().first?.headers["authorization"], "no key to another origin")
        XCTAssertEqual(try app.requests().count, 2)

        let withToken = try runBinary(["check", "--route", route, "--route-token", "generate-aplus=" + (try tokenFile("webhook-token"))],
                                      environment: environment(app: app))
        XCTAssertTrue(withToken.stdout.contains("✓ route generate-aplus: \(other.url)/api/process-aplus?***: token accepted"), withToken.stdout)
        XCTAssertEqual(try other.requests().last?.headers["authorization"], "Bearer webhook-token")
    }

    /// `run --dry-run` shows where each job would go, without a route URL's query.
    func testDryRunPrintsRouteURLsRedacted() throws {
        let app = try startApp()
        try db.insertJob("generate-aplus", payload: #"{"projectId":"p"}"#)
        let result = try runBinary(["run", "--dry-run", "--route", "generate-aplus=https://hooks.example.com/x?key=s3cret"],
                                   environment: environment(app: app))
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stdout.contains("POST https://hooks.example.com/x?***"), result.stdout)
        XCTAssertFalse(result.stdout.contains("s3cret"), result.stdout)
    }
}
