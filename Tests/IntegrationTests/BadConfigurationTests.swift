import Foundation
import PostgresClient
@testable import ProcessJobsCore
import XCTest

/// Configuration mistakes through the real binary: refused before anything is claimed, in one
/// line that says what to write instead; and app URLs joined to routes as the operator meant.
/// (CommandLineTests covers unknown flags, the first bad numbers, a missing or world-readable
/// token file, and plain http to a remote host.)
final class BadConfigurationTests: IntegrationTestCase {
    func testMalformedAppURLsAreRefusedInOneLine() throws {
        try db.insertJob("generate-image")
        let urls = ["not a url", "http://", "https://:443", "http://127.0.0.1:99999", "http://127.0.0.1:0",
                    "https://app.example.com/p?x=1", "https://app.example.com/#f", "https://user:s3cret@app.example.com",
                    "user:s3cret@app.example.com", "user:s3cret@app.example.com/p?q", "https://user:s3cret@[::1",
                    "http://exa mple.com", "ftp://app.example.com", "https//app.example.com", "https://[::1"]
        for url in urls {
            let fromEnvironment = try runBinary(["run"], environment: ["DATABASE_URL": databaseURL, "SUPABASE_SERVICE_ROLE_KEY": "k",
                                                                       "APP_URL": url])
            XCTAssertEqual(fromEnvironment.status, 78, "\(url): \(fromEnvironment.stderr)")
            XCTAssertTrue(fromEnvironment.stderr.hasPrefix("process-jobs: APP_URL: "), fromEnvironment.stderr)
            let fromFlag = try runBinary(["run", "--app-url", url], environment: ["DATABASE_URL": databaseURL,
                                                                                  "SUPABASE_SERVICE_ROLE_KEY": "k"])
            XCTAssertEqual(fromFlag.status, 64, "\(url): \(fromFlag.stderr)")
            XCTAssertTrue(fromFlag.stderr.hasPrefix("process-jobs: --app-url: "), fromFlag.stderr)
            for result in [fromEnvironment, fromFlag] {
                XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, result.stderr)
                XCTAssertTrue(result.stderr.contains("https://") || result.stderr.contains("SUPABASE_SERVICE_ROLE_KEY"),
                              "says what to write instead: \(result.stderr)")
                XCTAssertFalse(result.stderr.contains("s3cret"), "no credentials echoed")
            }
        }
        XCTAssertEqual(try db.count(where: "status = 'pending' AND processed_at IS NULL"), 1, "nothing claimed")
    }

    /// The request path the app really saw, for base URLs with a prefix and trailing slashes.
    func testAppURLPrefixAndTrailingSlashesAreJoined() throws {
        let app = try startApp()
        let cases: [(environment: [String: String], arguments: [String], path: String)] = [
            (["APP_URL": app.url + "/"], [], "/api/process-image"),
            (["APP_URL": app.url + "/prefix"], [], "/prefix/api/process-image"),
            (["APP_URL": app.url + "/prefix/"], [], "/prefix/api/process-image"),
            (["APP_URL": app.url + "/a/b//"], [], "/a/b/api/process-image"),
            (["NEXT_PUBLIC_APP_URL": app.url + "/next/", "APP_URL": app.url + "/ignored"], [], "/next/api/process-image"),
            (["APP_URL": app.url + "/prefix/"], ["--route", "generate-image=/custom/route"], "/prefix/custom/route"),
            (["APP_URL": app.url + "/prefix/"], ["--route", "generate-image=\(app.url)/absolute"], "/absolute"),
            ([:], ["--app-url", app.url + "/flag/"], "/flag/api/process-image"),
        ]
        for (index, check) in cases.enumerated() {
            try app.reset()
            let id = try db.insertJob("generate-image", payload: #"{"projectId":"p\#(index)"}"#)
            var env = environment(app: nil)
            env.merge(check.environment) { $1 }
            let result = try runBinary(["run", "--job-type", "generate-image"] + check.arguments, environment: env)
            XCTAssertEqual(result.status, 0, result.stderr)
            XCTAssertEqual(try app.requests(forJob: id).map(\.path), [check.path], "case \(index): \(check)")
        }
    }

    func testTokenFileEdgeCases() throws {
        let app = try startApp(token: "tok")
        try db.insertJob("generate-aplus", payload: #"{"projectId":"p"}"#)
        let directory = NSTemporaryDirectory() + "pj-token-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory + "/a-directory", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let refused: [(name: String, content: String, words: String)] = [
            ("empty", "", "is empty"),
            ("only-newline", "\n", "is empty"),
            ("two-newlines", "tok\n\n", "line breaks or non-printable"),
            ("inner-space", "to k", "spaces"),
            ("tab", "tok\t", "non-printable"),
            ("byte-order-mark", "\u{FEFF}tok", "non-printable"),
            ("two-lines", "tok\nsecond", "line breaks"),
        ]
        for check in refused {
            let path = directory + "/" + check.name
            try check.content.write(toFile: path, atomically: true, encoding: .utf8)
            try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
            let result = try runBinary(["run", "--token-file", path], environment: ["DATABASE_URL": databaseURL, "APP_URL": app.url])
            XCTAssertEqual(result.status, 78, "\(check.name): \(result.stderr)")
            XCTAssertTrue(result.stderr.contains(check.words), "\(check.name): \(result.stderr)")
            XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, result.stderr)
            XCTAssertFalse(result.stderr.contains("tok\t") || result.stderr.contains("second"), "the key is never echoed")
        }
        let unreadable = try runBinary(["run", "--token-file", directory + "/a-directory"],
                                       environment: ["DATABASE_URL": databaseURL, "APP_URL": app.url])
        XCTAssertEqual(unreadable.status, 78, unreadable.stderr)
        XCTAssertTrue(unreadable.stderr.contains("cannot read token file"), unreadable.stderr)
        XCTAssertEqual(try app.requests().count, 0)
        XCTAssertEqual(try db.count(where: "processed_at IS NULL"), 1, "nothing claimed")

        // Windows line ending (an editor's): stripped like a plain newline.
        try "tok\r\n".write(toFile: directory + "/crlf", atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: directory + "/crlf")
        let crlf = try runBinary(["run", "--token-file", directory + "/crlf"], environment: ["DATABASE_URL": databaseURL, "APP_URL": app.url])
        XCTAssertEqual(crlf.status, 0, crlf.stderr)
        XCTAssertEqual(try db.count(where: "status = 'completed'"), 1)
    }

    func testZeroNegativeAndMalformedNumbersAreUsageErrors() throws {
        let cases: [(arguments: [String], flag: String)] = [
            (["--lease", "0"], "--lease"), (["--request-timeout", "0s"], "--request-timeout"),
            (["--grace", "-1s"], "--grace"), (["--max-runtime", "-5"], "--max-runtime"),
            (["--backoff-base", "0"], "--backoff-base"), (["--backoff-max", "soon"], "--backoff-max"),
            (["--route-concurrency", "generate-image=0"], "--route-concurrency"),
            (["--route-concurrency", "generate-image=-1"], "--route-concurrency"),
            (["--route-concurrency", "generate-image"], "--route-concurrency"),
            (["--batch-size", "10001"], "--batch-size"), (["--batch-size", "abc"], "--batch-size"),
            (["--concurrency", "0"], "--concurrency"), (["--concurrency", "1.5"], "--concurrency"),
            (["--every", "-1s"], "--every"),
            (["--every", "0.0001"], "--every"), (["--every", "999ms"], "--every"),
        ]
        for check in cases {
            let result = try runBinary(["run"] + check.arguments, environment: ["DATABASE_URL": databaseURL, "SUPABASE_SERVICE_ROLE_KEY": "k"])
            XCTAssertEqual(result.status, 64, "\(check.arguments): \(result.stderr)")
            XCTAssertTrue(result.stderr.contains(check.flag), "\(check.arguments) names the flag: \(result.stderr)")
        }
    }

    /// Negative numbers are values, not flags: the error gives the range, not "Missing value".
    func testNegativeNumbersGetTheRange() throws {
        let cases: [(arguments: [String], words: String)] = [
            (["--batch-size", "-5"], "--batch-size must be between 1 and 10000, not -5"),
            (["--concurrency", "-3"], "--concurrency must be between 1 and 1024, not -3"),
            (["--batch-size=-5"], "--batch-size must be between 1 and 10000, not -5"),
        ]
        for check in cases {
            let result = try runBinary(["run"] + check.arguments, environment: ["DATABASE_URL": databaseURL, "SUPABASE_SERVICE_ROLE_KEY": "k"])
            XCTAssertEqual(result.status, 64, "\(check.arguments): \(result.stderr)")
            XCTAssertTrue(result.stderr.contains(check.words), "\(check.arguments): \(result.stderr)")
            XCTAssertFalse(result.stderr.contains("Missing value"), result.stderr)
        }
    }

    /// A FIFO (or any file that is not a regular file) as --token-file is refused at once instead
    /// of waiting forever for a writer.
    func testTokenFileThatIsNotARegularFileIsRefusedAtOnce() throws {
        let directory = NSTemporaryDirectory() + "pj-fifo-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        XCTAssertEqual(mkfifo(directory + "/fifo", 0o600), 0)
        for path in [directory + "/fifo", "/dev/zero"] {
            let started = Date()
            let result = try runBinary(["run", "--token-file", path], environment: ["DATABASE_URL": databaseURL], timeout: 20)
            XCTAssertEqual(result.status, 78, "\(path): \(result.stderr)")
            XCTAssertTrue(result.stderr.contains("is not a regular file"), result.stderr)
            XCTAssertLessThan(Date().timeIntervalSince(started), 5)
        }
    }
}
