import Foundation
import PostgresClient
@testable import ProcessJobsCore
import XCTest

/// SIGHUP re-reads the token files (in repeat mode, for the next run; a one-shot run logs it and
/// goes on); SIGUSR1 and SIGUSR2 are ignored. None of them kills a run holding jobs.
final class ReloadSignalTests: IntegrationTestCase {
    private func tokenFile(_ content: String) throws -> String {
        let path = NSTemporaryDirectory() + "pj-hup-token-\(UUID().uuidString)"
        try content.write(toFile: path, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
        return path
    }

    func testHangupAndUserSignalsDuringAOneShotRunChangeNothing() throws {
        let app = try startApp(arguments: ["--delay-ms", "2000"])
        try db.insertJobs("generate-image", count: 8)
        let runner = try startBinary(["run", "--concurrency", "4", "--batch-size", "8", "--log-format", "json"],
                                     environment: environment(app: app))
        awaitCondition("requests in flight") { (try? app.requests().count) ?? 0 >= 4 }
        for signal in [SIGHUP, SIGUSR1, SIGUSR2] { runner.signal(signal) }
        let result = runner.result(timeout: 30)
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(try db.count(where: "status = 'completed'"), 8, "the run went on to the end")
        XCTAssertTrue(result.stderr.contains("SIGHUP: this run goes on unchanged"), result.stderr)
        XCTAssertTrue(result.stderr.contains("\"stop\":\"drained\""), result.stderr)
    }

    /// The key is rotated: the file gets the new one, the app accepts only the new one, SIGHUP.
    /// The next run sends the new key (without SIGHUP it would send the old one and exit 77).
    func testHangupInRepeatModeRereadsTheTokenFile() throws {
        let app = try startApp(token: "old-key")
        let path = try tokenFile("old-key\n")
        let first = try db.insertJob("generate-aplus", payload: #"{"projectId":"first"}"#)
        var env = environment(app: app)
        env["SUPABASE_SERVICE_ROLE_KEY"] = nil
        let runner = try startBinary(["run", "--every", "1s", "--token-file", path, "--log-format", "json"], environment: env)
        defer { runner.signal(SIGKILL); _ = runner.wait(timeout: 10); runner.cleanUp() }
        awaitCondition("the first job completed with the old key") { (try? db.job(first).status) == "completed" }

        try "new-key\n".write(toFile: path, atomically: true, encoding: .utf8)
        try app.configure(#"{"token": "new-key"}"#)
        runner.signal(SIGHUP)
        awaitCondition("the reload logged") { runner.stderr.contains("SIGHUP: token re-read") }
        let second = try db.insertJob("generate-aplus", payload: #"{"projectId":"second"}"#)
        awaitCondition("the second job completed with the new key", timeout: 20) {
            (try? db.job(second).status) == "completed" || !runner.isRunning
        }
        XCTAssertTrue(runner.isRunning, runner.stderr)
        XCTAssertEqual(try app.requests(forJob: second).first?.headers["authorization"], "Bearer new-key")
        XCTAssertFalse(runner.stderr.contains("new-key") || runner.stderr.contains("old-key"), "no key in the log")

        runner.signal(SIGTERM)
        XCTAssertEqual(runner.wait(timeout: 10), 0, runner.stderr)
    }
}
