import Foundation
import PostgresClient
import XCTest

/// What a run prints: live progress on a terminal only, and syslog priorities under journald.
final class RunOutputTests: IntegrationTestCase {
    func testNoProgressLineWhenNotATerminal() throws {
        let app = try startApp()
        try db.insertJobs("generate-image", count: 20)
        let result = try runBinary(["run", "--log-format", "text"], environment: environment(app: app))
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertFalse(result.stderr.contains("\r"), "no carriage returns")
        XCTAssertFalse(result.stderr.contains("\u{1B}["), "no terminal escapes")
        XCTAssertFalse(result.stderr.contains("jobs/s"))
        XCTAssertTrue(result.stderr.contains("run done"), "the summary is still logged")
    }

    func testProgressLineOnATerminal() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/script") else { throw XCTSkip("script(1) is not installed") }
        let app = try startApp()
        try db.insertJobs("generate-image", count: 20)
        // script(1) gives the run a pseudo-terminal and copies what it shows to stdout.
        let command = [Paths.binary, "run", "--concurrency", "2"].map { "'\($0)'" }.joined(separator: " ")
        var env = binaryEnvironment(environment(app: app))
        env["TERM"] = "xterm"
        let result = try shell("/usr/bin/script", ["-qec", command, "/dev/null"], environment: env, timeout: 60)
        XCTAssertEqual(result.status, 0, result.stdout)
        XCTAssertTrue(result.stdout.contains("\rclaimed "), "the progress line is drawn in place: \(result.stdout)")
        XCTAssertTrue(result.stdout.contains(" jobs/s, "), result.stdout)
        XCTAssertTrue(result.stdout.contains("\r\u{1B}[K"), "and cleared before log lines")
        // What the terminal shows of each line: the text after its last carriage return, escapes removed.
        let screen = result.stdout.replacingOccurrences(of: "\r\n", with: "\n").split(separator: "\n").map { line in
            String(line.split(separator: "\r", omittingEmptySubsequences: false).last ?? "").replacingOccurrences(of: "\u{1B}[K", with: "")
        }
        let summary = try XCTUnwrap(screen.last { $0.contains("run done") })
        XCTAssertTrue(summary.contains("completed=20"), summary)
        XCTAssertFalse(summary.contains("jobs/s,"), "the summary line stands alone: \(summary)")
        XCTAssertFalse(screen.contains { $0.contains("jobs/s,") && $0.contains("job completed") }, "no log line is glued to the progress")
        XCTAssertEqual(try db.count(where: "status = 'completed'"), 20)
    }

    func testJournaldLinesCarrySyslogPriorities() throws {
        let app = try startApp()
        try db.insertJob("generate-image")
        try db.insertJob("generate-image", payload: #"{"projectId":"boom"}"#)
        var env = environment(app: app)
        env["JOURNAL_STREAM"] = "8:12345"
        let result = try runBinary(["run", "--log-format", "json"], environment: env)
        XCTAssertEqual(result.status, 0, result.stderr)
        let lines = result.stderr.split(separator: "\n").map(String.init)
        XCTAssertFalse(lines.isEmpty)
        for line in lines {
            XCTAssertNotNil(line.range(of: #"^<[2-7]>\{"#, options: .regularExpression), line)
            XCTAssertFalse(line.contains("\"ts\""), "journald stamps lines itself: \(line)")
        }
        XCTAssertTrue(lines.contains { $0.hasPrefix("<6>") && $0.contains(#""level":"info""#) && $0.contains("job completed") })
        XCTAssertTrue(lines.contains { $0.hasPrefix("<4>") && $0.contains(#""level":"warning""#) && $0.contains("job retry") })

        // The one-line error a run ends with is an error to journald too.
        try db.insertJob("generate-image")
        env["SUPABASE_SERVICE_ROLE_KEY"] = "rejected"
        let rejected = try runBinary(["run"], environment: env)
        XCTAssertEqual(rejected.status, 77, rejected.stderr)
        XCTAssertTrue(rejected.stderr.hasSuffix("\n<3>process-jobs: the app rejected the service-role key (HTTP 401): check that SUPABASE_SERVICE_ROLE_KEY is the key the app expects; the job was released untouched\n"),
                      rejected.stderr)
    }
}
