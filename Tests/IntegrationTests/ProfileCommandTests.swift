import Foundation
import PostgresClient
@testable import ProcessJobsCore
import XCTest

/// --table-profile on the command line: migrate, run (its catalog check), check, --dry-run and
/// prune, through the built binary against the seed tables.
final class ProfileCommandTests: IntegrationTestCase {
    private var roles: [String] = []

    override func tearDown() {
        super.tearDown()  // drops the database first: the role holds privileges in it
        if let admin = try? Connection(conninfo: PostgresServer.shared.adminURL) {
            for role in roles { _ = try? admin.query("DROP ROLE IF EXISTS \(role)") }
        }
    }
    private func path(_ name: String) -> String {
        Paths.repository.appendingPathComponent("deploy/profiles/\(name).json").path
    }

    private func writeProfile(_ text: String) throws -> String {
        let file = NSTemporaryDirectory() + "pj-profile-\(UUID().uuidString).json"
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: file) }
        return file
    }

    func testMigrateAddsWhatTheRunNeedsOnceAndLeavesTheRestAlone() throws {
        try db.execute(script: SeedTables.agentJobs)
        let before = try db.query("""
            SELECT (SELECT count(*) FROM pg_policy WHERE polrelid = 'jobs'::regclass),
                   (SELECT string_agg(enumlabel, ',' ORDER BY enumsortorder) FROM pg_enum WHERE enumtypid = 'job_status'::regtype),
                   (SELECT relrowsecurity FROM pg_class WHERE oid = 'jobs'::regclass)
            """).values[0]
        let printed = try runBinary(["migrate", "--print", "--table-profile", path("jobs")])
        XCTAssertEqual(printed.status, 0, printed.stderr)
        XCTAssertTrue(printed.stdout.contains(#"ALTER TABLE "jobs" ADD COLUMN "locked_until" timestamptz;"#), printed.stdout)
        XCTAssertTrue(printed.stdout.contains(#"CREATE INDEX "jobs_pj_claim_idx" ON "jobs" ("agent_identifier", "created_at") WHERE "status" = 'pending';"#))

        let first = try runBinary(["migrate", "--table-profile", path("jobs"), "--log-format", "json"], environment: environment(app: nil))
        XCTAssertEqual(first.status, 0, first.stderr)
        XCTAssertTrue(first.stderr.contains("table profile's table migrated"), first.stderr)
        let columns = try db.query("""
            SELECT string_agg(attname, ',' ORDER BY attnum) FROM pg_attribute WHERE attrelid = 'jobs'::regclass AND attnum > 0
            """).values[0][0] ?? ""
        XCTAssertTrue(columns.hasSuffix("run_at,locked_until,locked_by,locked_at,retry_count,max_retries,cancelled_at"), columns)
        XCTAssertEqual(try db.query("SELECT count(*) FROM pg_indexes WHERE tablename = 'jobs' AND indexname LIKE 'jobs_pj_%'").values[0][0], "3")
        let again = try runBinary(["migrate", "--table-profile", path("jobs"), "--log-format", "json"], environment: environment(app: nil))
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertTrue(again.stderr.contains("already up to date"), again.stderr)
        let after = try db.query("""
            SELECT (SELECT count(*) FROM pg_policy WHERE polrelid = 'jobs'::regclass),
                   (SELECT string_agg(enumlabel, ',' ORDER BY enumsortorder) FROM pg_enum WHERE enumtypid = 'job_status'::regtype),
                   (SELECT relrowsecurity FROM pg_class WHERE oid = 'jobs'::regclass)
            """).values[0]
        XCTAssertEqual(after, before, "policies, enum labels and row security stay as they were")
    }

    func testTheClaimUsesTheProfilesIndex() throws {
        try db.execute(script: SeedTables.agentJobs)
        XCTAssertEqual(try runBinary(["migrate", "--table-profile", path("jobs")], environment: environment(app: nil)).status, 0)
        try db.query("""
            INSERT INTO jobs (agent_identifier, status, job_data)
            SELECT CASE WHEN g % 10 = 0 THEN 'research-agent' ELSE 'writer-agent' END,
                   CASE WHEN g % 50 = 0 THEN 'pending' ELSE 'completed' END::job_status, '{}'
            FROM generate_series(1, 20000) g
            """)
        try db.query("ANALYZE jobs")
        let table = try JobTable.check(try TableProfile.decode(Array(try Data(contentsOf: URL(fileURLWithPath: path("jobs")))), source: "jobs"),
                                       connection: db)
        let statement = CompactStatement(Queries.tick(TickShape(outcomes: false, claim: true), table.sql))
        let store = JobStore(connection: db, lockedBy: "plan:1", table: table)
        let parameters = statement.parameters(store.tickParameters(
            outcomes: [], claim: .init(limit: 10, quotas: [("research-agent", 10)], lease: 60, rescue: false), pauses: []))
        try db.query("BEGIN")
        let plan = try db.query("EXPLAIN " + statement.sql, parameters).values.map { $0[0] ?? "" }.joined(separator: "\n")
        try db.query("ROLLBACK")
        XCTAssertTrue(plan.contains("jobs_pj_claim_idx"), plan)
    }

    func testARunOnATableThatDoesNotFitStopsWith78AndOneLine() throws {
        try db.execute(script: SeedTables.documentJobs)
        let unmigrated = try runBinary(["run", "--table-profile", path("document_jobs"), "--route", "document=/api/process-aplus"],
                                       environment: environment(app: nil))
        XCTAssertEqual(unmigrated.status, 78, unmigrated.stderr)
        XCTAssertEqual(unmigrated.stderr.split(separator: "\n").filter { $0.contains("process-jobs:") },
                       ["process-jobs: table profile: document_jobs has no column run_at (run process-jobs migrate --table-profile FILE)"])

        XCTAssertEqual(try runBinary(["migrate", "--table-profile", path("document_jobs")], environment: environment(app: nil)).status, 0)
        let misspelt = try writeProfile("""
            {"table": "document_jobs", "id": "job_id", "jobType": {"fixed": "document"}, "payload": {"columns": ["prompt", "projectid"]},
             "status": {"column": "status", "pending": "pending", "processing": "processing", "completed": "completed", "failed": "failed"},
             "createdAt": "created_at"}
            """)
        var environment = environment(app: nil)
        environment["PROCESS_JOBS_TABLE_PROFILE"] = misspelt
        let result = try runBinary(["run", "--route", "document=/api/process-aplus"], environment: environment)
        XCTAssertEqual(result.status, 78, result.stderr)
        XCTAssertTrue(result.stderr.contains("process-jobs: table profile: document_jobs has no column projectid"), result.stderr)
        let check = try runBinary(["check", "--route", "document=/api/process-aplus"], environment: environment)
        XCTAssertEqual(check.status, 78, check.stdout + check.stderr)
        XCTAssertTrue(check.stdout.contains("document_jobs has no column projectid"), check.stdout)

        let broken = try writeProfile(#"{"table": "document_jobs", "id": "job_id", "jobTyp": {}}"#)
        let bad = try runBinary(["run", "--table-profile", broken], environment: self.environment(app: nil))
        XCTAssertEqual(bad.status, 78, bad.stderr)
        XCTAssertTrue(bad.stderr.contains("unknown key \"jobTyp\""), bad.stderr)
    }

    func testCheckAndDryRunReadTheProfilesTable() throws {
        try db.execute(script: SeedTables.operations)
        XCTAssertEqual(try runBinary(["migrate", "--table-profile", path("operations")], environment: environment(app: nil)).status, 0)
        try db.query("""
            INSERT INTO operations (id, status, message, created_at, updated_at)
            VALUES ('op-1', 'pending', 'export', 1, 1), ('op-2', 'complete', 'done', 1, 1)
            """)
        let app = try startApp()
        let check = try runBinary(["check", "--table-profile", path("operations"), "--route", "operation=/api/process-aplus"],
                                  environment: environment(app: app))
        XCTAssertTrue(check.stdout.contains("operations fits the profile"), check.stdout + check.stderr)
        let dry = try runBinary(["run", "--dry-run", "--table-profile", path("operations"), "--route", "operation=/api/process-aplus"],
                                environment: environment(app: app))
        XCTAssertEqual(dry.status, 0, dry.stderr)
        XCTAssertTrue(dry.stdout.contains("op-1"), dry.stdout)
        XCTAssertFalse(dry.stdout.contains("op-2"), dry.stdout)
        XCTAssertEqual(try db.query("SELECT status FROM operations WHERE id = 'op-1'").values[0][0], "pending", "a dry run changes nothing")
    }

    func testPruneDeletesExactlyTheFinishedOperationsOlderThanAnHour() throws {
        try db.execute(script: SeedTables.operations)
        XCTAssertEqual(try runBinary(["migrate", "--table-profile", path("operations")], environment: environment(app: nil)).status, 0)
        // Epoch milliseconds, as the store writes them.
        try db.query("""
            INSERT INTO operations (id, status, message, created_at, updated_at)
            SELECT o.id, o.status, 'm', now_ms - o.age_ms - 1000, now_ms - o.age_ms
            FROM (SELECT (extract(epoch FROM now()) * 1000)::bigint AS now_ms) n,
                 (VALUES ('old-complete', 'complete', 7200000), ('old-error', 'error', 3660000),
                         ('old-pending', 'pending', 7200000), ('old-processing', 'processing', 7200000),
                         ('young-complete', 'complete', 3540000), ('young-error', 'error', 60000)) AS o(id, status, age_ms)
            """)
        let result = try runBinary(["prune", "--table-profile", path("operations"), "--older-than", "1h"], environment: environment(app: nil))
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(result.stdout, "pruned 2 jobs finished more than 1h ago (completed 1, failed 1)\n")
        let left = try db.query("SELECT string_agg(id, ',' ORDER BY id) FROM operations").values[0][0]
        XCTAssertEqual(left, "old-pending,old-processing,young-complete,young-error")
    }

    /// A profile's table whose notify trigger is missing (or written for other words): the
    /// listener would hear nothing, so it stops at start and says what to run.
    func testListenNeedsTheProfilesNotifyTrigger() throws {
        try db.execute(script: SeedTables.agentJobs)
        XCTAssertEqual(try runBinary(["migrate", "--table-profile", path("jobs")], environment: environment(app: nil)).status, 0)
        try db.query("DROP TRIGGER jobs_pj_notify_inserted ON jobs")
        var environment = environment(app: nil)
        environment["PROCESS_JOBS_TABLE_PROFILE"] = path("jobs")
        let listen = try runBinary(["run", "--listen"], environment: environment)
        XCTAssertEqual(listen.status, 78, listen.stderr)
        let line = listen.stderr.split(separator: "\n").last.map(String.init) ?? ""
        XCTAssertTrue(line.contains("jobs lacks the notify trigger --listen needs") && line.contains("jobs_pj_notify_inserted")
                      && line.contains("migrate --table-profile"), line)
    }

    func testCancelFailsAPendingRowAndMarksAProcessingOne() throws {
        try db.execute(script: SeedTables.documentJobs)
        XCTAssertEqual(try runBinary(["migrate", "--table-profile", path("document_jobs")], environment: environment(app: nil)).status, 0)
        let ids = try db.query("""
            INSERT INTO document_jobs (prompt, status, locked_by, locked_until)
            VALUES ('a', 'pending', NULL, NULL), ('b', 'processing', 'host:1', now() + interval '1 minute'), ('c', 'completed', NULL, NULL)
            RETURNING job_id::text
            """).values.map { $0[0]! }
        let result = try runBinary(["cancel", "--table-profile", path("document_jobs")] + ids, environment: environment(app: nil))
        XCTAssertEqual(result.status, 64, "the completed one is reported: \(result.stderr)")
        XCTAssertTrue(result.stdout.contains("\(ids[0]) cancelled: was pending, now failed"), result.stdout)
        XCTAssertTrue(result.stdout.contains("\(ids[1]) cancelled: processing"), result.stdout)
        XCTAssertTrue(result.stderr.contains("\(ids[2]) is completed: unchanged"), result.stderr)
        let rows = try db.query("""
            SELECT status, error, cancelled_at IS NOT NULL FROM document_jobs WHERE job_id = ANY($1::uuid[]) ORDER BY prompt
            """, ["{\(ids.joined(separator: ","))}"]).values
        XCTAssertEqual(rows, [["failed", "cancelled by operator", "t"], ["processing", nil, "t"], ["completed", nil, "f"]])
    }

    func testStatusReadsTheProfilesTable() throws {
        try db.execute(script: SeedTables.agentJobs)
        XCTAssertEqual(try runBinary(["migrate", "--table-profile", path("jobs")], environment: environment(app: nil)).status, 0)
        try db.execute(script: """
            INSERT INTO auth.users (id) VALUES ('00000000-0000-0000-0000-00000000000a');
            INSERT INTO jobs (user_id, agent_identifier, status, error_message, locked_by, locked_until, completed_at)
            VALUES ('00000000-0000-0000-0000-00000000000a', 'research-agent', 'pending', NULL, NULL, NULL, NULL),
                   ('00000000-0000-0000-0000-00000000000a', 'research-agent', 'pending', NULL, NULL, NULL, NULL),
                   (NULL, 'research-agent', 'running', NULL, 'gone-host:1', now() - interval '1 minute', NULL),
                   (NULL, 'writer-agent', 'failed', 'the model refused', NULL, NULL, now()),
                   (NULL, 'writer-agent', 'cancelled', NULL, NULL, NULL, NULL)
            """)
        let result = try runBinary(["status", "--json", "--table-profile", path("jobs"), "--route", "research-agent=/api/process-aplus"],
                                   environment: environment(app: nil))
        XCTAssertEqual(result.status, 0, result.stderr)
        let document = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        let types = try XCTUnwrap(document["types"] as? [[String: Any]])
        let research = try XCTUnwrap(types.first { $0["type"] as? String == "research-agent" })
        XCTAssertEqual(research["pending"] as? Int, 2)
        XCTAssertEqual(research["due"] as? Int, 2)
        XCTAssertEqual(research["processing"] as? Int, 1, "the enum's running is the product's processing")
        XCTAssertEqual(research["expired_leases"] as? Int, 1)
        let writer = try XCTUnwrap(types.first { $0["type"] as? String == "writer-agent" })
        XCTAssertEqual(writer["failed"] as? Int, 1)
        XCTAssertEqual(writer["other"] as? Int, 1, "a label outside the four words")
        let leases = try XCTUnwrap(document["expired_leases"] as? [[String: Any]])
        XCTAssertEqual(leases.map { $0["locked_by"] as? String }, ["gone-host:1"])
        let errors = try XCTUnwrap(document["top_errors"] as? [[String: Any]])
        XCTAssertEqual(errors.map { $0["message"] as? String }, ["the model refused"])
        let routes = try XCTUnwrap(document["routes"] as? [[String: Any]])
        let route = try XCTUnwrap(routes.first { $0["type"] as? String == "research-agent" })
        XCTAssertEqual((route["top_due_users"] as? [[String: Any]])?.first?["user_id"] as? String, "00000000-0000-0000-0000-00000000000a")
    }

    func testRetryMovesTheProfilesFailedRowsBack() throws {
        try db.execute(script: SeedTables.operations)
        XCTAssertEqual(try runBinary(["migrate", "--table-profile", path("operations")], environment: environment(app: nil)).status, 0)
        try db.query("""
            INSERT INTO operations (id, status, message, error, retry_count, locked_by, created_at, updated_at)
            VALUES ('op-a', 'error', 'm', 'boom', 3, NULL, 1, 1), ('op-b', 'error', 'm', 'boom', 3, NULL, 1, 1),
                   ('op-c', 'complete', 'm', NULL, 0, NULL, 1, 1), ('op-d', 'processing', 'm', NULL, 0, 'host:1', 1, 1)
            """)
        let named = try runBinary(["retry", "--table-profile", path("operations"), "op-a", "op-c"], environment: environment(app: nil))
        XCTAssertEqual(named.status, 64, "op-c is complete: reported, not moved")
        XCTAssertEqual(named.stdout, "moved 1 job back to pending\n")
        XCTAssertTrue(named.stderr.contains("op-c is completed"), named.stderr)
        let all = try runBinary(["retry", "--table-profile", path("operations"), "--failed"], environment: environment(app: nil))
        XCTAssertEqual(all.status, 0, all.stderr)
        XCTAssertEqual(all.stdout, "moved 1 failed job back to pending (operation 1)\n")
        let rows = try db.query("""
            SELECT id, status, retry_count, coalesce(locked_by, '-'), updated_at > 1 FROM operations ORDER BY id
            """).values
        XCTAssertEqual(rows, [["op-a", "pending", "0", "-", "t"], ["op-b", "pending", "0", "-", "t"],
                              ["op-c", "complete", "0", "-", "f"], ["op-d", "processing", "0", "host:1", "f"]].map { $0.map(Optional.some) },
                       "updated_at in epoch milliseconds; complete and processing rows untouched")
    }

    func testEnqueueInsertsAsTheAppDoes() throws {
        try db.execute(script: SeedTables.documentJobs + SeedTables.agentJobs)
        for name in ["document_jobs", "jobs"] {
            XCTAssertEqual(try runBinary(["migrate", "--table-profile", path(name)], environment: environment(app: nil)).status, 0)
        }
        let document = try runBinary(["enqueue", "document", "--table-profile", path("document_jobs"),
                                      "--payload", #"{"prompt": "Write the handbook", "project_id": "p7"}"#, "--run-at", "+1h"],
                                     environment: environment(app: nil))
        XCTAssertEqual(document.status, 0, document.stderr)
        let id = document.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let row = try db.query("""
            SELECT prompt, project_id, status, run_at > now() + interval '59 minutes' FROM document_jobs WHERE job_id = $1::uuid
            """, [id]).values
        XCTAssertEqual(row, [["Write the handbook", "p7", "pending", "t"]])

        let unknown = try runBinary(["enqueue", "document", "--table-profile", path("document_jobs"), "--payload", #"{"projectId": "p7"}"#],
                                    environment: environment(app: nil))
        XCTAssertEqual(unknown.status, 64, unknown.stderr)
        XCTAssertTrue(unknown.stderr.contains("--payload field projectId is not one of document_jobs's payload columns (prompt, project_id)"), unknown.stderr)
        let wrongType = try runBinary(["enqueue", "generate-image", "--table-profile", path("document_jobs"), "--payload", "{}"],
                                      environment: environment(app: nil))
        XCTAssertEqual(wrongType.status, 64, wrongType.stderr)
        XCTAssertTrue(wrongType.stderr.contains("every job of document_jobs is of type document"), wrongType.stderr)

        try db.query("INSERT INTO auth.users (id) VALUES ('00000000-0000-0000-0000-0000000000b1')")
        let agent = try runBinary(["enqueue", "research-agent", "--table-profile", path("jobs"), "--payload", #"{"projectId": "p1"}"#,
                                   "--user-id", "00000000-0000-0000-0000-0000000000b1", "--max-retries", "5"],
                                  environment: environment(app: nil))
        XCTAssertEqual(agent.status, 0, agent.stderr)
        let job = agent.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertEqual(try db.query("SELECT agent_identifier, job_data->>'projectId', user_id::text, status::text, max_retries FROM jobs WHERE id = $1::uuid",
                                    [job]).values,
                       [["research-agent", "p1", "00000000-0000-0000-0000-0000000000b1", "pending", "5"]])
        let app = try startApp()
        let run = try runBinary(["run", "--table-profile", path("jobs"), "--route", "research-agent=/api/process-aplus"],
                                environment: environment(app: app))
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertEqual(try db.query("SELECT status::text, result->>'aplusId' FROM jobs WHERE id = $1::uuid", [job]).values, [["completed", "p1-aplus"]])
    }

    /// The operations store names its ids (text, no default) and keeps epoch-millisecond times
    /// with no default: enqueue makes the id (a uuid as text) and both times, as its app would,
    /// prints the id, and a run sends the job and writes the table's own complete word.
    func testEnqueueMakesTheIdAndTimesATableLeavesToItsApp() throws {
        try db.execute(script: SeedTables.operations)
        XCTAssertEqual(try runBinary(["migrate", "--table-profile", path("operations")], environment: environment(app: nil)).status, 0)
        let before = Int64(Date().timeIntervalSince1970 * 1000) - 1000
        let result = try runBinary(["enqueue", "operation", "--table-profile", path("operations"),
                                    "--payload", #"{"message": "Export the report", "metadata": {"projectId": "p1"}}"#],
                                   environment: environment(app: nil))
        XCTAssertEqual(result.status, 0, result.stderr)
        let id = result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertNotNil(UUID(uuidString: id), "a uuid as text: \(result.stdout)")
        let row = try db.query("""
            SELECT message, metadata->>'projectId', status, created_at, updated_at FROM operations WHERE id = $1
            """, [id]).values
        XCTAssertEqual(row.count, 1, "the row under the printed id")
        XCTAssertEqual(Array(row[0][0..<3]), ["Export the report", "p1", "pending"])
        let created = try XCTUnwrap(Int64(row[0][3] ?? "")), updated = try XCTUnwrap(Int64(row[0][4] ?? ""))
        XCTAssertTrue(created >= before && created <= before + 60_000 && updated == created, "epoch ms: \(created), \(updated)")

        let app = try startApp()
        try app.setRules(#"[{"match": {"jobId": "\#(id)"}, "action": {"status": 200, "body": {"success": true}}}]"#)
        let run = try runBinary(["run", "--table-profile", path("operations"), "--route", "operation=/api/process-aplus"],
                                environment: environment(app: app))
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertEqual(try app.requests(forJob: id).count, 1, "sent under its id")
        XCTAssertEqual(try db.query("SELECT status, locked_by FROM operations WHERE id = $1", [id]).values, [["complete", nil]])
    }

    /// A profile's timer invocation (`run --table-profile F --route T=URL --route-token T=FILE`)
    /// skips the argument parser; each spelling of it runs as the parsed one would, and a form
    /// it does not know still gets the parser's usage error.
    func testTheTimersProfileInvocationRunsInEverySpelling() throws {
        try db.execute(script: SeedTables.operations)
        XCTAssertEqual(try runBinary(["migrate", "--table-profile", path("operations")], environment: environment(app: nil)).status, 0)
        let app = try startApp(), webhook = try startApp(token: "route-secret")
        let token = NSTemporaryDirectory() + "pj-route-token-\(UUID().uuidString)"
        try "route-secret\n".write(toFile: token, atomically: true, encoding: .utf8)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: token) }
        try webhook.setRules(#"[{"match": {"path": "/api/process-aplus"}, "action": {"status": 200, "body": {"success": true}}}]"#)
        let route = "operation=\(webhook.url)/api/process-aplus"
        for arguments in [["run", "--table-profile", path("operations"), "--route", route, "--route-token", "operation=\(token)"],
                          ["--table-profile=\(path("operations"))", "--route=\(route)", "--route-token=operation=\(token)"]] {
            let enqueued = try runBinary(["enqueue", "operation", "--table-profile", path("operations"), "--payload", #"{"message": "m"}"#],
                                         environment: environment(app: nil))
            XCTAssertEqual(enqueued.status, 0, enqueued.stderr)
            let id = enqueued.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            let run = try runBinary(arguments, environment: environment(app: app))
            XCTAssertEqual(run.status, 0, "\(arguments): \(run.stderr)")
            XCTAssertEqual(try webhook.requests(forJob: id).map { $0.headers["authorization"] }, ["Bearer route-secret"], "\(arguments)")
            XCTAssertEqual(try db.query("SELECT status FROM operations WHERE id = $1", [id]).values, [["complete"]])
        }
        for arguments in [["run", "--table-profile"], ["run", "--route", "--table-profile", path("operations")]] {
            let refused = try runBinary(arguments, environment: environment(app: app))
            XCTAssertEqual(refused.status, 64, "\(arguments): \(refused.stderr)")
        }
    }

    /// An id process-jobs cannot make (an integer with no default or identity) is a one-line
    /// configuration error, and nothing is inserted.
    func testEnqueueRefusesAnIdItCannotMake() throws {
        try db.execute(script: SeedTables.operations.replacingOccurrences(of: "id text PRIMARY KEY", with: "id integer PRIMARY KEY"))
        XCTAssertEqual(try runBinary(["migrate", "--table-profile", path("operations")], environment: environment(app: nil)).status, 0)
        let result = try runBinary(["enqueue", "operation", "--table-profile", path("operations"),
                                    "--payload", #"{"message": "Export the report"}"#], environment: environment(app: nil))
        XCTAssertEqual(result.status, 78, result.stderr)
        XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, result.stderr)
        XCTAssertTrue(result.stderr.contains("operations.id is integer with no default: enqueue makes uuid or text ids only"), result.stderr)
        XCTAssertEqual(try db.query("SELECT count(*) FROM operations").values[0][0], "0")
    }

    /// Row level security stays on: a runner role that is a member of service_role (without
    /// BYPASSRLS of its own) reaches the jobs table's rows through the table's policy.
    func testARunnerRoleWorksThroughTheJobsTablesPolicy() throws {
        try db.execute(script: SeedTables.agentJobs)
        XCTAssertEqual(try runBinary(["migrate", "--table-profile", path("jobs")], environment: environment(app: nil)).status, 0)
        let name = "pj_agent_\(String(UUID().uuidString.prefix(8)).lowercased())", password = UUID().uuidString
        roles.append(name)
        try db.execute(script: """
            CREATE ROLE \(name) LOGIN NOBYPASSRLS PASSWORD '\(password)' IN ROLE service_role;
            GRANT USAGE ON SCHEMA public, process_jobs TO \(name);
            GRANT SELECT, UPDATE ON jobs TO \(name);
            GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA process_jobs TO \(name);
            """)
        XCTAssertEqual(try db.query("SELECT relrowsecurity FROM pg_class WHERE oid = 'jobs'::regclass").values[0][0], "t")
        let id = try ProfileRunTests.seeds[1].insert(db)
        var components = try XCTUnwrap(URLComponents(string: databaseURL))
        components.user = name
        components.password = password
        let app = try startApp()
        var environment = environment(app: app)
        environment["DATABASE_URL"] = try XCTUnwrap(components.string)
        let run = try runBinary(["run", "--table-profile", path("jobs"), "--route", "research-agent=/api/process-aplus"], environment: environment)
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertEqual(try db.query("SELECT status::text FROM jobs WHERE id = $1::uuid", [id]).values[0][0], "completed")
    }

    func testMetricsFileCountsTheProfilesQueue() throws {
        try db.execute(script: SeedTables.documentJobs)
        XCTAssertEqual(try runBinary(["migrate", "--table-profile", path("document_jobs")], environment: environment(app: nil)).status, 0)
        _ = try ProfileRunTests.seeds[0].insert(db)
        let file = NSTemporaryDirectory() + "pj-metrics-\(UUID().uuidString).prom"
        addTeardownBlock { try? FileManager.default.removeItem(atPath: file) }
        let app = try startApp()
        try app.setRules(#"[{"match": {"path": "/api/process-aplus"}, "action": {"status": 200, "body": {"html": "<p>ok</p>"}}}]"#)
        let run = try runBinary(["run", "--table-profile", path("document_jobs"), "--route", "document=/api/process-aplus",
                                 "--metrics-file", file], environment: environment(app: app))
        XCTAssertEqual(run.status, 0, run.stderr)
        let text = try String(contentsOfFile: file, encoding: .utf8)
        XCTAssertTrue(text.contains(#"process_jobs_queue_jobs{type="document",status="completed"} 1"#), text)
    }
}
