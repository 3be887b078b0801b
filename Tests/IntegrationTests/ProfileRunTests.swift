import CurlTransport
import Foundation
import Logging
import PostgresClient
@testable import ProcessJobsCore
import XCTest

/// job_queue's outcome, lease and concurrency tests, run against each of the three seed tables
/// (created as their apps create them, then `migrate --table-profile`) through their deployed
/// profiles, with the real app and database.
final class ProfileRunTests: IntegrationTestCase {
    /// One seed table: its profile, the type its jobs are routed by, and how its app adds a job.
    struct Seed: Sendable {
        let profile: String
        let type: String
        let insert: @Sendable (Connection) throws -> String
    }

    static let seeds = [
        Seed(profile: "document_jobs", type: "document") {
            try $0.query("INSERT INTO document_jobs (prompt, project_id) VALUES ('Write the onboarding handbook', 'p1') RETURNING job_id::text")
                .values[0][0]!
        },
        Seed(profile: "jobs", type: "research-agent") {
            try $0.query("""
                WITH u AS (INSERT INTO auth.users DEFAULT VALUES RETURNING id)
                INSERT INTO jobs (user_id, agent_identifier, job_data)
                SELECT u.id, 'research-agent', '{"projectId": "p1", "topic": "queues"}' FROM u RETURNING id::text
                """).values[0][0]!
        },
        Seed(profile: "operations", type: "operation") {
            try $0.query("""
                INSERT INTO operations (id, status, message, metadata, created_at, updated_at)
                VALUES ('op-' || gen_random_uuid(), 'pending', 'Export the report', '{"projectId": "p1"}',
                        (extract(epoch FROM now()) * 1000)::bigint - 5000, (extract(epoch FROM now()) * 1000)::bigint - 5000)
                RETURNING id
                """).values[0][0]!
        },
    ]

    static func profilePath(_ seed: Seed) -> String {
        Paths.repository.appendingPathComponent("deploy/profiles/\(seed.profile).json").path
    }

    static func profile(_ seed: Seed) throws -> TableProfile {
        try TableProfile.decode(Array(try Data(contentsOf: URL(fileURLWithPath: profilePath(seed)))), source: seed.profile)
    }

    override func setUpWithError() throws {
        try super.setUpWithError()
        try db.execute(script: SeedTables.documentJobs + SeedTables.agentJobs + SeedTables.operations)
        for seed in Self.seeds {
            let added = try ProfileMigration.apply(try Self.profile(seed), on: db)
            XCTAssertTrue(added.contains("run_at") && added.contains("locked_until"), "\(seed.profile): \(added)")
            XCTAssertEqual(try ProfileMigration.apply(try Self.profile(seed), on: db), [], "idempotent")
        }
    }

    private func table(_ seed: Seed) throws -> JobTable {
        try JobTable.check(try Self.profile(seed), connection: db)
    }

    /// The row as the profile names its columns, in the product's words.
    struct Row {
        let status: String
        let retryCount: Int
        let runInSeconds: Double
        let error: String?
        let result: String?
        let lockedBy: String?
    }

    private func row(_ seed: Seed, _ id: String) throws -> Row {
        let t = try table(seed).sql
        let values = try db.query("""
            SELECT \(t.statusAs("j")), j.retry_count, extract(epoch FROM j.run_at - now())::float8,
                   \(t.error("j")!), \(t.result("j")!)::text, j.locked_by
            FROM \(t.table) j WHERE \(t.id("j"))::text = $1
            """, [id]).values[0]
        return Row(status: values[0] ?? "?", retryCount: Int(values[1] ?? "") ?? -1, runInSeconds: Double(values[2] ?? "") ?? 0,
                   error: values[3], result: values[4], lockedBy: values[5])
    }

    private func store(_ seed: Seed, _ holder: String) throws -> JobStore {
        JobStore(connection: try Connection(conninfo: databaseURL), lockedBy: holder, table: try table(seed))
    }

    private func claim(_ seed: Seed, _ store: JobStore, rescue: Bool = false) throws -> JobStore.TickResult {
        try store.tick(outcomes: [], claim: .init(limit: 50, quotas: [(seed.type, 50)], lease: 60, rescue: rescue))
    }

    private func run(_ seed: Seed, app: TestApp, configure: (inout RunSettings) -> Void = { _ in }) throws -> RunReport {
        var settings = RunSettings()
        settings.seed = 42
        settings.maxRuntime = 60
        configure(&settings)
        let transport = CurlTransport(options: .init(requestTimeout: settings.requestTimeout,
                                                     maxConnections: settings.concurrency), wakeDescriptor: nil)
        let runner = Runner(store: try store(seed, "test-host:1"), transport: transport, settings: settings,
                            targets: [seed.type: app.url + "/api/process-aplus"],
                            credentials: Credentials(appToken: try Token.check("test-token", source: "test")),
                            stop: nil, log: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
        return try runner.run()
    }

    private func answer(_ app: TestApp, _ id: String, status: Int, body: String) throws {
        try app.setRules(#"[{"match": {"jobId": "\#(id)"}, "action": {"status": \#(status), "body": \#(body)}}]"#)
    }

    func testSuccessCompletesWithTheAnswerAndSendsThePayload() throws {
        let app = try startApp()
        for seed in Self.seeds {
            let id = try seed.insert(db)
            try answer(app, id, status: 200, body: #"{"success": true, "pages": 2}"#)
            XCTAssertEqual(try run(seed, app: app).summary.completed, 1, seed.profile)
            let row = try row(seed, id)
            XCTAssertEqual(row.status, "completed", seed.profile)
            XCTAssertNil(row.lockedBy)
            XCTAssertTrue(row.result?.contains(#""pages": 2"#) ?? false, row.result ?? "nil")
            let request = try XCTUnwrap(app.requests(forJob: id).first, seed.profile)
            XCTAssertEqual(request.headers["x-job-type"], seed.type)
            XCTAssertEqual(request.idempotencyKey, id)
            let body = request.json
            switch seed.profile {
            case "document_jobs":
                XCTAssertEqual(body["prompt"] as? String, "Write the onboarding handbook")
                XCTAssertEqual(body["project_id"] as? String, "p1")
            case "jobs":
                XCTAssertEqual(body["topic"] as? String, "queues")
                let user = try db.query("SELECT user_id::text FROM jobs WHERE id = $1::uuid", [id]).values[0][0]
                XCTAssertEqual(body["userId"] as? String, user, "the row's user as the body's userId")
                let stamps = try db.query("SELECT started_at IS NOT NULL, completed_at IS NOT NULL, status::text FROM jobs WHERE id = $1::uuid", [id])
                XCTAssertEqual(stamps.values[0], ["t", "t", "completed"])
            default:
                XCTAssertEqual(body["message"] as? String, "Export the report")
                XCTAssertEqual((body["metadata"] as? [String: Any])?["projectId"] as? String, "p1")
                let stamps = try db.query("""
                    SELECT status, abs(updated_at - (extract(epoch FROM now()) * 1000)::bigint) < 60000 FROM operations WHERE id = $1
                    """, [id])
                XCTAssertEqual(stamps.values[0], ["complete", "t"], "its own word; updated_at in epoch milliseconds")
            }
        }
    }

    func testDocumentAnswerLandsInHtmlAndResult() throws {
        let app = try startApp()
        let seed = Self.seeds[0]
        let id = try seed.insert(db)
        let other = try seed.insert(db)
        try app.setRules("""
            [{"match": {"jobId": "\(id)"}, "action": {"status": 200, "body": {"html": "<h1>Handbook</h1>", "sections": 3}}},
             {"match": {"jobId": "\(other)"}, "action": {"status": 200, "body": {"sections": 0}}}]
            """)
        _ = try run(seed, app: app)
        let rows = try db.query("SELECT html, result->>'sections', status FROM document_jobs WHERE job_id = $1::uuid", [id])
        XCTAssertEqual(rows.values[0], ["<h1>Handbook</h1>", "3", "completed"])
        let without = try db.query("SELECT html, result->>'sections' FROM document_jobs WHERE job_id = $1::uuid", [other])
        XCTAssertEqual(without.values[0], [nil, "0"], "an answer without html leaves the column alone")
    }

    func testServerErrorIsRetriedWithBackoff() throws {
        let app = try startApp()
        for seed in Self.seeds {
            let id = try seed.insert(db)
            try answer(app, id, status: 500, body: #"{"error": "Generation failed: boom"}"#)
            _ = try run(seed, app: app) { $0.retry = RetryPolicy(base: 30, cap: 3600, jitter: 0.2) }
            let row = try row(seed, id)
            XCTAssertEqual(row.status, "pending", seed.profile)
            XCTAssertEqual(row.retryCount, 1, seed.profile)
            XCTAssertEqual(row.error, "Generation failed: boom", seed.profile)
            XCTAssertGreaterThan(row.runInSeconds, 30 * 0.8 - 2, seed.profile)
            XCTAssertLessThan(row.runInSeconds, 30 * 1.2 + 1, seed.profile)
            XCTAssertNil(row.lockedBy)
        }
    }

    func testClientErrorFailsAtOnce() throws {
        let app = try startApp()
        for seed in Self.seeds {
            let id = try seed.insert(db)
            try answer(app, id, status: 404, body: #"{"error": "Project not found"}"#)
            XCTAssertEqual(try run(seed, app: app).summary.failed, 1, seed.profile)
            let row = try row(seed, id)
            XCTAssertEqual(row.status, "failed", seed.profile)
            XCTAssertEqual(row.retryCount, 0, seed.profile)
            XCTAssertEqual(row.error, "Project not found", seed.profile)
            XCTAssertEqual(try app.requests(forJob: id).count, 1)
        }
        let words = try db.query("SELECT (SELECT status::text FROM jobs), (SELECT status FROM operations)").values[0]
        XCTAssertEqual(words, ["failed", "error"], "each table's own word")
    }

    func testFailureJobsGoIntoJobQueue() throws {
        for seed in Self.seeds {
            let id = try seed.insert(db)
            let holder = JobStore(connection: try Connection(conninfo: databaseURL), lockedBy: "host:9", onFailure: "job-failed",
                                  table: try table(seed))
            let job = try XCTUnwrap(try claim(seed, holder).claimed.first, seed.profile)
            let result = try holder.tick(outcomes: [PendingOutcome(job: job, outcome: .fail(error: "bad input"))], claim: nil)
            XCTAssertEqual(result.notified.map(\.failedJobID), [id], seed.profile)
            let queued = try db.query("""
                SELECT job_type, payload->>'jobType', payload->>'error', payload->'payload' IS NOT NULL FROM job_queue
                WHERE payload->>'failedJobId' = $1
                """, [id])
            XCTAssertEqual(queued.values, [["job-failed", seed.type, "bad input", "t"]], seed.profile)
        }
    }

    func testTokenRejectedReleasesUntouchedAndStops() throws {
        let app = try startApp(token: "the-right-one")
        for seed in Self.seeds {
            let id = try seed.insert(db)
            let result = try runBinary(["run", "--table-profile", Self.profilePath(seed), "--route", "\(seed.type)=/api/process-aplus"],
                                       environment: environment(app: app, token: "wrong"))
            XCTAssertEqual(result.status, 77, result.stderr)
            XCTAssertTrue(result.stderr.contains("rejected the service-role key"), result.stderr)
            let row = try row(seed, id)
            XCTAssertEqual(row.status, "pending", seed.profile)
            XCTAssertEqual(row.retryCount, 0)
            XCTAssertNil(row.lockedBy)
            XCTAssertLessThan(row.runInSeconds, 0, "released untouched: still due")
        }
    }

    func testExpiredLeaseIsAFailedAttemptThatWaitsItsBackoff() throws {
        let app = try startApp()
        for seed in Self.seeds {
            let id = try seed.insert(db)
            XCTAssertEqual(try claim(seed, try store(seed, "dead-host:1")).claimed.map(\.id), [id], seed.profile)
            let t = try table(seed).sql
            try db.query("UPDATE \(t.table) SET locked_until = now() - interval '1 second' WHERE \(t.id(""))::text = $1", [id])
            let report = try run(seed, app: app) { $0.retry = RetryPolicy(base: 1, cap: 60, jitter: 0.2) }
            XCTAssertEqual(report.summary.rescued, 1, seed.profile)
            XCTAssertEqual(report.summary.completed, 0, "not sent again before its backoff has passed")
            var row = try row(seed, id)
            XCTAssertEqual(row.status, "pending", seed.profile)
            XCTAssertEqual(row.retryCount, 1, "the lost attempt counts")
            XCTAssertEqual(row.runInSeconds, 1, accuracy: 0.35, "base × 2^0, ±20% jitter")
            XCTAssertTrue(row.error?.hasPrefix("lease expired: dead-host:1") ?? false, row.error ?? "nil")

            try awaitCondition("the backoff to pass", timeout: 5) { try self.row(seed, id).runInSeconds <= 0 }
            try answer(app, id, status: 200, body: #"{"success": true}"#)
            _ = try run(seed, app: app)
            row = try self.row(seed, id)
            XCTAssertEqual(row.status, "completed", seed.profile)
            XCTAssertEqual(try app.requests(forJob: id).first?.attempt, 2)
        }
    }

    func testLateWriterIsFencedOut() throws {
        for seed in Self.seeds {
            let id = try seed.insert(db)
            let t = try table(seed).sql
            let slow = try store(seed, "slow-host:1")
            let job = try XCTUnwrap(try claim(seed, slow).claimed.first, seed.profile)
            try db.query("UPDATE \(t.table) SET locked_until = now() - interval '1 second' WHERE \(t.id(""))::text = $1", [id])
            let other = try store(seed, "fast-host:2")
            XCTAssertEqual(try claim(seed, other, rescue: true).rescued.count, 1, seed.profile)
            try db.query("UPDATE \(t.table) SET run_at = now() WHERE \(t.id(""))::text = $1", [id])
            let reclaimed = try XCTUnwrap(try claim(seed, other).claimed.first)
            XCTAssertEqual(reclaimed.id, id)

            let late = try slow.tick(outcomes: [PendingOutcome(job: job, outcome: .complete(result: nil))], claim: nil)
            XCTAssertEqual(late.recorded.count, 0, seed.profile)
            XCTAssertEqual(try row(seed, id).status, "processing")
            XCTAssertEqual(try row(seed, id).lockedBy, "fast-host:2")
            let stale = try other.tick(outcomes: [PendingOutcome(job: job, outcome: .complete(result: nil))], claim: nil)
            XCTAssertEqual(stale.recorded.count, 0, "an older claim of the same holder is fenced too")
            let current = try other.tick(outcomes: [PendingOutcome(job: reclaimed, outcome: .complete(result: nil))], claim: nil)
            XCTAssertEqual(current.recorded.map(\.status), ["completed"], seed.profile)
        }
    }

    func testConcurrentRunnersPostEveryJobExactlyOnce() throws {
        let app = try startApp(arguments: ["--delay-ms", "5"])
        try app.setRules(#"[{"match": {"path": "/api/process-aplus"}, "action": {"status": 200, "body": {"success": true}}}]"#)
        let perTable = 150
        for seed in Self.seeds {
            for _ in 0..<perTable { _ = try seed.insert(db) }
        }
        var runners: [Child] = []
        for seed in Self.seeds {
            for _ in 0..<3 {
                runners.append(try startBinary(["run", "--table-profile", Self.profilePath(seed), "--route", "\(seed.type)=/api/process-aplus",
                                                "--batch-size", "10", "--concurrency", "4", "--log-format", "json"],
                                               environment: environment(app: app)))
            }
        }
        for runner in runners {
            let result = runner.result(timeout: 120)
            XCTAssertEqual(result.status, 0, result.stderr)
        }
        for seed in Self.seeds {
            let t = try table(seed).sql
            let done = try db.query("SELECT count(*) FILTER (WHERE \(t.status("")) = \(t.word(.completed))), count(locked_by) FROM \(t.table)")
            XCTAssertEqual(done.values[0], [String(perTable), "0"], seed.profile)
        }
        let requests = try app.requests().filter { $0.path.hasPrefix("/api/") }
        let perJob = Dictionary(grouping: requests, by: { $0.jobId ?? "" })
        XCTAssertEqual(perJob.count, 3 * perTable)
        XCTAssertEqual(perJob.values.filter { $0.count != 1 }.count, 0, "every job POSTed exactly once")
    }

    /// Every shape of the tick statement (outcomes, rescue, failure jobs, pauses, rate,
    /// concurrency, fair shares, the user cap) parses, plans and does its part on each table.
    func testEveryTickShapeRunsOnEachTable() throws {
        for seed in Self.seeds {
            for _ in 0..<6 { _ = try seed.insert(db) }
            try db.query("INSERT INTO process_jobs.route_state (job_type) VALUES ($1), ('*') ON CONFLICT DO NOTHING", [seed.type])
            let t = try table(seed).sql
            let stores = (plain: try store(seed, "host:1"),
                          failureJobs: JobStore(connection: try Connection(conninfo: databaseURL), lockedBy: "host:1",
                                                onFailure: "job-failed", table: try table(seed)))
            for shape in TickShape.allCases {
                for store in [stores.plain, stores.failureJobs] { try store.connection.query("BEGIN") }
                let store = shape.failureJobs ? stores.failureJobs : stores.plain
                let extra = try seed.insert(store.connection)
                try store.connection.query("""
                    UPDATE \(t.table) SET \(t.status("")) = \(t.word(.processing)), locked_by = 'host:gone',
                        locked_until = now() - interval '1 minute', locked_at = now() - interval '2 minutes', retry_count = 3, max_retries = 3
                    WHERE \(t.id(""))::text = $1
                    """, [extra])
                let held = try store.tick(outcomes: [], claim: .init(limit: 2, quotas: [(seed.type, 2)], lease: 60, rescue: false)).claimed
                XCTAssertEqual(held.count, 2, "\(seed.profile) \(shape)")
                let outcomes = TickShapeValues.outcomes(shape, held: held)
                let claim = TickShapeValues.claim(shape, type: seed.type, quota: 3)
                let pauses = TickShapeValues.pauses(shape, type: "other-type")
                let result = try store.tick(outcomes: outcomes, claim: claim, pauses: pauses)
                XCTAssertEqual(result.recorded.count, outcomes.count, "\(seed.profile) \(shape)")
                XCTAssertEqual(result.rescued.count, shape.rescue ? 1 : 0, "\(seed.profile) \(shape)")
                XCTAssertEqual(result.notified.count, shape.failureJobs ? outcomes.count + result.rescued.count : 0, "\(seed.profile) \(shape)")
                if shape.claim {
                    XCTAssertEqual(result.claimed.count, 3, "\(seed.profile) \(shape): \(result.holds)")
                }
                for store in [stores.plain, stores.failureJobs] { try store.connection.query("ROLLBACK") }
            }
        }
    }
}
