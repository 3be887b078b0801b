import Foundation
import PostgresClient
@testable import ProcessJobsCore
import XCTest

/// The binary's exit codes and one-line errors for bad input.
final class CommandLineTests: IntegrationTestCase {
    func testUnknownFlagIsUsageError() throws {
        let result = try runBinary(["run", "--no-such-flag"])
        XCTAssertEqual(result.status, 64)
    }

    func testBadFlagValuesAreUsageErrors() throws {
        for arguments in [["--batch-size", "0"], ["--concurrency", "-3"], ["--request-timeout", "soon"],
                          ["--lease", "10s", "--request-timeout", "60s"], ["--job-type", "nope"],
                          ["--app-url", "ftp://x"], ["--route", "broken"], ["--every", "0"], ["--for", "5s"]] {
            let result = try runBinary(["run"] + arguments, environment: ["SUPABASE_SERVICE_ROLE_KEY": "k", "DATABASE_URL": databaseURL])
            XCTAssertEqual(result.status, 64, "\(arguments): \(result.stderr)")
            XCTAssertFalse(result.stderr.isEmpty)
        }
    }

    func testMissingTokenIsConfigurationError() throws {
        let result = try runBinary(["run"], environment: ["DATABASE_URL": databaseURL])
        XCTAssertEqual(result.status, 78)
        XCTAssertTrue(result.stderr.contains("SUPABASE_SERVICE_ROLE_KEY"), result.stderr)
        XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, "one line: \(result.stderr)")
    }

    /// `process-jobs` and `process-jobs run` skip the argument parser (ProcessJobs.main gives every
    /// option its default): each must do what the parsed run does, refused or working.
    func testRunWithoutFlagsDoesWhatTheParsedRunDoes() throws {
        let parsed = try runBinary(["run", "--log-level", "info"], environment: ["DATABASE_URL": databaseURL])
        XCTAssertEqual(parsed.status, 78, parsed.stderr)
        for arguments in [[], ["run"]] {
            let refused = try runBinary(arguments, environment: ["DATABASE_URL": databaseURL])
            XCTAssertEqual(refused.status, parsed.status, "\(arguments): \(refused.stderr)")
            XCTAssertEqual(refused.stderr, parsed.stderr, "\(arguments)")
        }
        let app = try startApp()
        for arguments in [[], ["run"]] {
            try db.insertJobs("generate-image", count: 3)
            let result = try runBinary(arguments, environment: environment(app: app))
            XCTAssertEqual(result.status, 0, "\(arguments): \(result.stderr)")
            // Not a terminal: JSON lines at level info, as the parsed defaults say.
            XCTAssertTrue(result.stderr.contains(#""msg":"run done","claimed":3,"completed":3"#), "\(arguments): \(result.stderr)")
        }
        XCTAssertEqual(try db.count(where: "status = 'completed'"), 6)
    }

    func testTokenWithNewlineInsideIsRefused() throws {
        let result = try runBinary(["run"], environment: ["DATABASE_URL": databaseURL, "SUPABASE_SERVICE_ROLE_KEY": "abc\ndef"])
        XCTAssertEqual(result.status, 78)
        XCTAssertFalse(result.stderr.contains("abc"), "the token must not be echoed")
    }

    func testInsecureHTTPToRemoteHostIsRefused() throws {
        let env = ["DATABASE_URL": databaseURL, "SUPABASE_SERVICE_ROLE_KEY": "k", "APP_URL": "http://app.example.com"]
        let result = try runBinary(["run"], environment: env)
        XCTAssertEqual(result.status, 78, result.stderr)
        XCTAssertTrue(result.stderr.contains("--allow-insecure-http"), result.stderr)
    }

    func testDatabaseDownIsUnavailable() throws {
        let result = try runBinary(["run"], environment: ["DATABASE_URL": "postgresql://postgres@127.0.0.1:9/x?connect_timeout=2",
                                                          "SUPABASE_SERVICE_ROLE_KEY": "k"])
        XCTAssertEqual(result.status, 75, result.stderr)
        XCTAssertTrue(result.stderr.contains("database unavailable"), result.stderr)
    }

    func testWrongPasswordAndDatabaseAreConfigurationErrorsWithoutThePassword() throws {
        let wrongPassword = databaseURL.replacingOccurrences(of: ":throwaway@", with: ":not-the-password@")
        if wrongPassword != databaseURL {
            let result = try runBinary(["run"], environment: ["DATABASE_URL": wrongPassword, "SUPABASE_SERVICE_ROLE_KEY": "k"])
            XCTAssertEqual(result.status, 78, result.stderr)
            XCTAssertTrue(result.stderr.contains("password authentication failed"), result.stderr)
            XCTAssertFalse(result.stderr.contains("not-the-password"))
        }
        let wrongDatabase = PostgresServer.url(databaseURL, database: "no_such_database")
        let result = try runBinary(["run"], environment: ["DATABASE_URL": wrongDatabase, "SUPABASE_SERVICE_ROLE_KEY": "k"])
        XCTAssertEqual(result.status, 78, result.stderr)
        XCTAssertTrue(result.stderr.contains("does not exist"), result.stderr)
    }

    func testLibpqEnvironmentIsUsedWithoutDatabaseURL() throws {
        let app = try startApp()
        try db.insertJob("generate-aplus", payload: #"{"projectId":"p"}"#)
        let parts = try XCTUnwrap(URLComponents(string: databaseURL))
        let result = try runBinary(["run"], environment: [
            "PGHOST": parts.host ?? "", "PGPORT": String(parts.port ?? 5432), "PGUSER": parts.user ?? "",
            "PGPASSWORD": parts.password ?? "", "PGDATABASE": databaseName,
            "SUPABASE_SERVICE_ROLE_KEY": "test-token", "APP_URL": app.url,
        ])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(try db.count(where: "status = 'completed'"), 1)
    }

    func testTokenFileAndCredentialsDirectory() throws {
        let app = try startApp(token: "from-file")
        try db.insertJob("generate-aplus", payload: #"{"projectId":"p"}"#)
        let directory = NSTemporaryDirectory() + "pj-cred-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try "from-file\n".write(toFile: directory + "/service-role-key", atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: directory + "/service-role-key")
        let result = try runBinary(["run"], environment: ["DATABASE_URL": databaseURL, "APP_URL": app.url,
                                                          "CREDENTIALS_DIRECTORY": directory,
                                                          "SUPABASE_SERVICE_ROLE_KEY": "overridden"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(try db.count(where: "status = 'completed'"), 1, "the credential (newline stripped) wins over the environment")

        try db.insertJob("generate-aplus", payload: #"{"projectId":"p"}"#)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: directory + "/service-role-key")
        let viaFlag = try runBinary(["run", "--token-file", directory + "/service-role-key"],
                                    environment: ["DATABASE_URL": databaseURL, "APP_URL": app.url])
        XCTAssertEqual(viaFlag.status, 0, viaFlag.stderr)
        XCTAssertTrue(viaFlag.stderr.contains("readable by every user"), viaFlag.stderr)

        let missing = try runBinary(["run", "--token-file", directory + "/nope"], environment: ["DATABASE_URL": databaseURL])
        XCTAssertEqual(missing.status, 64)
    }

    func testRepeatModeRunsSeveralTimesAndStopsInTime() throws {
        let app = try startApp()
        let started = Date()
        let result = try runBinary(["run", "--every", "1s", "--for", "3s", "--log-format", "json"],
                                   environment: environment(app: app), timeout: 30)
        XCTAssertEqual(result.status, 0, result.stderr)
        let runs = result.stderr.split(separator: "\n").filter { $0.contains("\"msg\":\"run done\"") }.count
        XCTAssertGreaterThanOrEqual(runs, 3)
        XCTAssertLessThanOrEqual(runs, 4)
        XCTAssertLessThan(Date().timeIntervalSince(started), 10)
    }

    func testJournaldPrefixesAndJSONLevels() throws {
        let app = try startApp()
        try db.insertJob("generate-image", payload: #"{"projectId":"boom"}"#)
        let result = try runBinary(["run", "--log-format", "json"],
                                   environment: environment(app: app).merging(["JOURNAL_STREAM": "8:1234"]) { $1 })
        XCTAssertEqual(result.status, 0)
        let lines = result.stderr.split(separator: "\n")
        XCTAssertTrue(lines.contains { $0.hasPrefix("<4>{") && $0.contains("\"level\":\"warning\"") && $0.contains("\"outcome\":\"retry\"") }, result.stderr)
        XCTAssertTrue(lines.contains { $0.hasPrefix("<6>{") && $0.contains("\"msg\":\"run done\"") }, result.stderr)
        XCTAssertFalse(result.stderr.contains("test-token"))
    }
}
