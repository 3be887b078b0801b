import Foundation
import PostgresClient
import XCTest

/// `process-jobs check` against the real database and test app.
final class CheckCommandTests: IntegrationTestCase {
    private func lines(_ result: CommandResult) -> [String] {
        result.stdout.split(separator: "\n").map(String.init)
    }

    func testEverythingPassesAndTheProbeHasNoSideEffects() throws {
        // With a database, the app's complete-pack endpoint would queue jobs for a valid request.
        let app = try startApp(withDatabase: true)
        let result = try runBinary(["check"], environment: environment(app: app))
        XCTAssertEqual(result.status, 0, result.stdout + result.stderr)
        let lines = lines(result)
        XCTAssertTrue(lines[0].hasPrefix("✓ configuration: app URL \(app.url), token from SUPABASE_SERVICE_ROLE_KEY, 3 routes"), lines[0])
        XCTAssertTrue(lines[1].hasPrefix("✓ database: "), lines[1])
        XCTAssertTrue(lines[1].contains("PostgreSQL "), lines[1])
        XCTAssertTrue(lines[2].hasPrefix("✓ schema: job_queue is migrated"), lines[2])
        XCTAssertTrue(lines.contains { $0.hasPrefix("✓ row level security: off") }, result.stdout)
        XCTAssertTrue(lines.contains { $0.hasPrefix("✓ write access: ") }, result.stdout)
        let routes = lines.filter { $0.hasPrefix("✓ route ") }
        for (index, (type, path)) in [("generate-aplus", "/api/process-aplus"), ("generate-complete-pack", "/api/process-complete-pack"),
                                      ("generate-image", "/api/process-image")].enumerated() {
            XCTAssertEqual(routes[index], "✓ route \(type): \(app.url)\(path): token accepted (an empty body got HTTP 400)")
        }
        XCTAssertTrue(lines.contains { $0.hasPrefix("! pg_cron: no cron schema in this database") }, result.stdout)
        XCTAssertEqual(lines.last, "all checks passed (1 warning)")
        XCTAssertFalse(result.stdout.contains("test-token") || result.stderr.contains("test-token"), "the token is never printed")

        let requests = try app.requests()
        XCTAssertEqual(requests.count, 3)
        for request in requests {
            XCTAssertEqual(request.method, "POST")
            XCTAssertEqual(request.body, "{}")
            XCTAssertEqual(request.headers["authorization"], "Bearer test-token")
            XCTAssertEqual(request.status, 400)
            XCTAssertNil(request.jobId)
        }
        XCTAssertEqual(try db.count(where: "true"), 0, "no job was created")
    }

    func testRejectedTokenExits77() throws {
        let app = try startApp(token: "the-right-one")
        let result = try runBinary(["check"], environment: environment(app: app, token: "wrong-key"))
        XCTAssertEqual(result.status, 77, result.stdout)
        XCTAssertEqual(lines(result).filter { $0.hasPrefix("✗ route ") && $0.contains("HTTP 401: the app rejected the service-role key") }.count, 3,
                       result.stdout)
        XCTAssertEqual(lines(result).last, "3 checks failed (exit 77)")
        XCTAssertFalse(result.stdout.contains("wrong-key"))
    }

    func testUnreachableAppExits69() throws {
        let result = try runBinary(["check", "--app-url", "http://127.0.0.1:9"], environment: environment(app: nil))
        XCTAssertEqual(result.status, 69, result.stdout)
        XCTAssertTrue(lines(result).contains { $0.hasPrefix("✗ route generate-image: http://127.0.0.1:9/api/process-image: unreachable:") },
                      result.stdout)
        XCTAssertTrue(lines(result)[1].hasPrefix("✓ database"), "the other checks still run")
    }

    func testAWrongRouteExits78() throws {
        let app = try startApp()
        let result = try runBinary(["check", "--route", "generate-image=/api/nope", "--job-type", "generate-image"],
                                   environment: environment(app: app))
        XCTAssertEqual(result.status, 78, result.stdout)
        XCTAssertTrue(result.stdout.contains("✗ route generate-image: \(app.url)/api/nope: HTTP 404"), result.stdout)
        XCTAssertEqual(lines(result).filter { $0.hasPrefix("✓ route ") || $0.hasPrefix("✗ route ") }.count, 1, "--job-type narrows the probe")
    }

    func testAnAppThatAnswersErrorsExits69() throws {
        let app = try startApp()
        try app.setRules(#"[{"match": {"path": "/api/process-aplus"}, "action": {"status": 503}}]"#)
        let result = try runBinary(["check"], environment: environment(app: app))
        XCTAssertEqual(result.status, 69, result.stdout)
        XCTAssertTrue(result.stdout.contains("✗ route generate-aplus: \(app.url)/api/process-aplus: HTTP 503"), result.stdout)
        XCTAssertTrue(result.stdout.contains("✓ route generate-image"), result.stdout)
    }

    func testMissingTokenExits78AndStillChecksTheDatabase() throws {
        let app = try startApp()
        var environment = environment(app: app)
        environment["SUPABASE_SERVICE_ROLE_KEY"] = nil
        let result = try runBinary(["check"], environment: environment)
        XCTAssertEqual(result.status, 78, result.stdout)
        XCTAssertTrue(lines(result)[0].hasPrefix("✗ configuration: no service-role key"), result.stdout)
        XCTAssertTrue(lines(result)[1].hasPrefix("✓ database"), result.stdout)
        XCTAssertTrue(result.stdout.contains("- endpoints: skipped"), result.stdout)
        XCTAssertEqual(try app.requests().count, 0)
    }

    func testBadFlagExits64() throws {
        let result = try runBinary(["check", "--app-url", "ftp://x"], environment: environment(app: nil))
        XCTAssertEqual(result.status, 64, result.stdout)
        XCTAssertTrue(lines(result)[0].hasPrefix("✗ configuration: --app-url"), result.stdout)
        let timeout = try runBinary(["check", "--request-timeout", "soon"], environment: environment(app: nil))
        XCTAssertEqual(timeout.status, 64)
        XCTAssertEqual(timeout.stderr.split(separator: "\n").count, 1, timeout.stderr)
    }

    func testDatabaseUnavailableExits75First() throws {
        var environment = environment(app: nil)
        environment["DATABASE_URL"] = "postgresql://postgres:hunter2@127.0.0.1:1/x?connect_timeout=2"
        let result = try runBinary(["check", "--app-url", "http://127.0.0.1:9"], environment: environment)
        XCTAssertEqual(result.status, 75, "the database fails before the app: \(result.stdout)")
        XCTAssertTrue(result.stdout.contains("✗ database: database unavailable"), result.stdout)
        XCTAssertTrue(result.stdout.contains("- schema: skipped"), result.stdout)
        XCTAssertTrue(result.stdout.contains("- pg_cron: skipped"), result.stdout)
        XCTAssertFalse(result.stdout.contains("hunter2"))
    }

    /// pg_cron's table, as the extension creates it (the extension itself is not needed to read it).
    private func createCronTable(active: Bool) throws {
        try db.execute(script: """
            CREATE SCHEMA cron;
            CREATE TABLE cron.job (jobid bigserial PRIMARY KEY, schedule text NOT NULL, command text NOT NULL,
                nodename text NOT NULL DEFAULT 'localhost', nodeport int NOT NULL DEFAULT 5432, database text NOT NULL DEFAULT current_database(),
                username text NOT NULL DEFAULT current_user, active boolean NOT NULL DEFAULT true, jobname text);
            INSERT INTO cron.job (schedule, command, jobname, active)
                VALUES ('* * * * *', 'select net.http_post(''https://x.supabase.co/functions/v1/process-job-queue'')', 'process-job-queue', \(active));
            """)
    }

    func testAnActiveOldPgCronJobIsAWarningWithTheFix() throws {
        let app = try startApp()
        try createCronTable(active: true)
        let result = try runBinary(["check"], environment: environment(app: app))
        XCTAssertEqual(result.status, 0, "a warning does not fail the check: \(result.stdout)")
        let line = try XCTUnwrap(lines(result).first { $0.hasPrefix("! pg_cron:") })
        XCTAssertTrue(line.contains("schedule '* * * * *'") && line.contains("still active"), line)
        XCTAssertTrue(line.contains("select cron.unschedule('process-job-queue')"), line)
    }

    func testAnInactiveOldPgCronJobPasses() throws {
        let app = try startApp()
        try createCronTable(active: false)
        let result = try runBinary(["check"], environment: environment(app: app))
        XCTAssertEqual(result.status, 0, result.stdout)
        XCTAssertTrue(result.stdout.contains("✓ pg_cron: job process-job-queue exists but is inactive"), result.stdout)
        XCTAssertEqual(lines(result).last, "all checks passed")
    }
}

final class CheckOnOriginalSchemaTests: IntegrationTestCase {
    override var migrated: Bool { false }

    func testUnmigratedSchemaExits78AndSaysToMigrate() throws {
        let app = try startApp()
        let result = try runBinary(["check"], environment: environment(app: app))
        XCTAssertEqual(result.status, 78, result.stdout)
        XCTAssertTrue(result.stdout.contains("✗ schema: job_queue lacks run_at, locked_until, locked_by, result, updated_at"), result.stdout)
        XCTAssertTrue(result.stdout.contains("run `process-jobs migrate`"), result.stdout)
        XCTAssertTrue(result.stdout.contains("✓ route generate-image"), "the endpoints are still checked: \(result.stdout)")
    }
}
