import Foundation
import PostgresClient
import XCTest

/// `check` and `status` under a role that row level security or missing grants leave blind or
/// read-only, and the old pg_cron job found by its command.
final class CheckAccessTests: IntegrationTestCase {
    private var roles: [String] = []

    override func tearDown() {
        super.tearDown()  // drops the database first: the role holds privileges in it
        if let admin = try? Connection(conninfo: PostgresServer.shared.adminURL) {
            for role in roles { _ = try? admin.query("DROP ROLE IF EXISTS \(role)") }
        }
    }

    /// A login role with the given privileges on job_queue (and flow control's tables, as
    /// deploy/supabase/least-privilege.sql grants them); its connection string.
    private func makeRole(privileges: String = "SELECT, INSERT, UPDATE, DELETE") throws -> (name: String, url: String) {
        let name = "pj_rls_\(String(UUID().uuidString.prefix(8)).lowercased())"
        let password = UUID().uuidString
        roles.append(name)
        try db.query("CREATE ROLE \(name) LOGIN PASSWORD '\(password)'")
        try db.query("GRANT USAGE ON SCHEMA public TO \(name)")
        try db.query("GRANT \(privileges) ON job_queue TO \(name)")
        try db.query("GRANT USAGE ON SCHEMA process_jobs TO \(name)")
        try db.query("GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA process_jobs TO \(name)")
        var components = try XCTUnwrap(URLComponents(string: databaseURL))
        components.user = name
        components.password = password
        return (name, try XCTUnwrap(components.string))
    }

    private func check(as url: String, app: TestApp) throws -> CommandResult {
        var environment = environment(app: app)
        environment["DATABASE_URL"] = url
        return try runBinary(["check"], environment: environment)
    }

    private func line(_ prefix: String, in result: CommandResult) -> String? {
        result.stdout.split(separator: "\n").map(String.init).first { $0.hasPrefix(prefix) }
    }

    func testRowLevelSecurityWithoutAPolicyFailsCheckAndWarnsInStatus() throws {
        let app = try startApp()
        let role = try makeRole()
        try db.insertJobs("generate-image", count: 5)
        try db.query("ALTER TABLE job_queue ENABLE ROW LEVEL SECURITY")

        let result = try check(as: role.url, app: app)
        XCTAssertEqual(result.status, 78, result.stdout)
        let failure = try XCTUnwrap(line("✗ row level security", in: result), result.stdout)
        XCTAssertTrue(failure.contains(role.name) && failure.contains("no policy"), failure)

        let status = try runBinary(["status"], environment: ["DATABASE_URL": role.url])
        XCTAssertEqual(status.status, 0, status.stderr)
        XCTAssertEqual(status.stderr.split(separator: "\n").count, 1, status.stderr)
        XCTAssertTrue(status.stderr.contains("row level security"), status.stderr)
        let json = try runBinary(["status", "--json"], environment: ["DATABASE_URL": role.url])
        XCTAssertNoThrow(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)), "stdout stays JSON")
        XCTAssertTrue(json.stderr.contains("row level security"), json.stderr)
    }

    func testAPolicyThatHidesEveryRowFailsCheck() throws {
        let app = try startApp()
        let role = try makeRole()
        try db.insertJobs("generate-image", count: 50)
        try db.query("ALTER TABLE job_queue ENABLE ROW LEVEL SECURITY")
        try db.query("CREATE POLICY only_mine ON job_queue TO \(role.name) USING (user_id = 'nobody')")
        try db.query("ANALYZE job_queue")

        let result = try check(as: role.url, app: app)
        XCTAssertEqual(result.status, 78, result.stdout)
        let failure = try XCTUnwrap(line("✗ row level security", in: result), result.stdout)
        XCTAssertTrue(failure.contains("sees none"), failure)
    }

    func testAPolicyForTheRolePasses() throws {
        let app = try startApp()
        let role = try makeRole()
        try db.insertJobs("generate-image", count: 5)
        try db.query("ALTER TABLE job_queue ENABLE ROW LEVEL SECURITY")
        try db.query("CREATE POLICY all_rows ON job_queue TO \(role.name) USING (true) WITH CHECK (true)")
        try db.query("ANALYZE job_queue")

        let result = try check(as: role.url, app: app)
        XCTAssertEqual(result.status, 0, result.stdout)
        XCTAssertNotNil(line("✓ row level security", in: result), result.stdout)
        XCTAssertNotNil(line("✓ write access", in: result), result.stdout)
        let status = try runBinary(["status"], environment: ["DATABASE_URL": role.url])
        XCTAssertEqual(status.stderr, "")
    }

    func testRowLevelSecurityDecidesTheExitCodeBeforeTheEndpoints() throws {
        let role = try makeRole()
        try db.query("ALTER TABLE job_queue ENABLE ROW LEVEL SECURITY")
        let result = try runBinary(["check", "--app-url", "http://127.0.0.1:9"],
                                   environment: ["DATABASE_URL": role.url, "SUPABASE_SERVICE_ROLE_KEY": "test-token"])
        XCTAssertEqual(result.status, 78, "a database problem comes first: \(result.stdout)")
    }

    func testARoleThatCannotWriteFailsCheck() throws {
        let app = try startApp()
        let role = try makeRole(privileges: "SELECT")
        let result = try check(as: role.url, app: app)
        XCTAssertEqual(result.status, 78, result.stdout)
        let failure = try XCTUnwrap(line("✗ write access", in: result), result.stdout)
        XCTAssertTrue(failure.contains("UPDATE"), failure)
    }

    func testARoleThatCanRunButNotEnqueueOrPruneIsAWarning() throws {
        let app = try startApp()
        let role = try makeRole(privileges: "SELECT, UPDATE")
        let result = try check(as: role.url, app: app)
        XCTAssertEqual(result.status, 0, result.stdout)
        let warning = try XCTUnwrap(line("! write access", in: result), result.stdout)
        XCTAssertTrue(warning.contains("enqueue needs INSERT, prune needs DELETE"), warning)
    }

    func testAReadOnlyConnectionFailsCheck() throws {
        let app = try startApp()
        let separator = databaseURL.contains("?") ? "&" : "?"
        let result = try check(as: databaseURL + separator + "options=-c%20default_transaction_read_only%3Don", app: app)
        XCTAssertEqual(result.status, 78, result.stdout)
        XCTAssertNotNil(line("✗ write access", in: result), result.stdout)
        XCTAssertEqual(try db.count(where: "true"), 0)
    }

    func testTheOriginalFunctionBodiesAreAWarning() throws {
        let app = try startApp()
        try db.execute(script: String(contentsOf: Paths.repository.appendingPathComponent("deploy/supabase/restore-original-functions.sql"), encoding: .utf8))
        let result = try runBinary(["check"], environment: environment(app: app))
        XCTAssertEqual(result.status, 0, result.stdout)
        let warning = try XCTUnwrap(line("! schema:", in: result), result.stdout)
        XCTAssertTrue(warning.contains("get_next_job()") && warning.contains("process-jobs migrate"), warning)
    }

    func testTheOldPgCronJobIsFoundByItsCommand() throws {
        let app = try startApp()
        try db.execute(script: """
            CREATE SCHEMA cron;
            CREATE TABLE cron.job (jobid bigserial PRIMARY KEY, schedule text NOT NULL, command text NOT NULL,
                nodename text NOT NULL DEFAULT 'localhost', nodeport int NOT NULL DEFAULT 5432, database text NOT NULL DEFAULT current_database(),
                username text NOT NULL DEFAULT current_user, active boolean NOT NULL DEFAULT true, jobname text);
            INSERT INTO cron.job (schedule, command, jobname) VALUES ('*/10 * * * * *', 'select 1', 'vacuum-stats');
            INSERT INTO cron.job (schedule, command, jobname)
                VALUES ('10 seconds', 'select net.http_post(url := ''https://abc.supabase.co/functions/v1/process-jobs'', headers := ''{}'')', 'drain-queue');
            """)
        let result = try runBinary(["check"], environment: environment(app: app))
        XCTAssertEqual(result.status, 0, result.stdout)
        let warning = try XCTUnwrap(line("! pg_cron:", in: result), result.stdout)
        XCTAssertTrue(warning.contains("drain-queue") && warning.contains("functions/v1/process-jobs"), warning)
        XCTAssertTrue(warning.contains("cron.unschedule('drain-queue')"), warning)
        XCTAssertFalse(warning.contains("vacuum-stats"), warning)
    }
}
