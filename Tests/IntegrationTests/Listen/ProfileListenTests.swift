import Foundation
import PostgresClient
@testable import ProcessJobsCore
import XCTest

/// `run --listen --table-profile` against each seed table (created as its app creates it), with
/// the real binary, database and app. Bounds only fail when the mechanism is broken: with
/// --poll-interval 30s a job found by the backstop poll instead of a notification takes 30 s.
final class ProfileListenTests: IntegrationTestCase {
    override func setUpWithError() throws {
        try super.setUpWithError()
        try db.execute(script: SeedTables.documentJobs + SeedTables.agentJobs + SeedTables.operations)
    }

    private func path(_ seed: ProfileRunTests.Seed) -> String { ProfileRunTests.profilePath(seed) }

    private func table(_ seed: ProfileRunTests.Seed) throws -> TableSQL {
        try JobTable.check(try ProfileRunTests.profile(seed), connection: db).sql
    }

    private func migrate(_ seed: ProfileRunTests.Seed) throws -> CommandResult {
        try runBinary(["migrate", "--table-profile", path(seed), "--log-format", "json"], environment: environment(app: nil))
    }

    private func startListener(_ seed: ProfileRunTests.Seed, app: TestApp, _ extra: [String] = []) throws -> Child {
        XCTAssertEqual(try migrate(seed).status, 0)
        return try startListener(app: app, ["--table-profile", path(seed), "--route", "\(seed.type)=/api/process-aplus"] + extra)
    }

    /// The row's status in the product's words.
    private func status(_ seed: ProfileRunTests.Seed, _ id: String) throws -> String? {
        let t = try table(seed)
        return try db.query("SELECT \(t.statusAs("j")) FROM \(t.table) j WHERE \(t.id("j"))::text = $1", [id]).values.first?[0]
    }

    private func count(_ seed: ProfileRunTests.Seed, _ word: TableSQL.Word) throws -> Int {
        let t = try table(seed)
        return Int(try db.query("SELECT count(*) FROM \(t.table) WHERE \(t.status("")) = \(t.word(word))").values[0][0] ?? "") ?? -1
    }

    /// Arrival time of the `number`th request for `id` (1-based), once it came.
    private func arrival(_ app: TestApp, _ id: String, number: Int = 1) throws -> Double {
        awaitCondition("request \(number) for \(id)", timeout: 10) { ((try? app.requests(forJob: id).count) ?? 0) >= number }
        return try XCTUnwrap(app.requests(forJob: id).dropFirst(number - 1).first).time
    }

    /// Each seed table: a job inserted while the listener idles, the same job put back to
    /// pending, and a job due in two seconds are each sent on their notification; SIGTERM then
    /// ends the listener with 0.
    func testEachSeedTablesJobsAreSentOnTheirNotification() throws {
        let app = try startApp()
        // Every answer a success: two of the payloads carry no projectId, which the app requires.
        try app.setRules(#"[{"action": {"status": 200, "body": {"success": true}}}]"#)
        for seed in ProfileRunTests.seeds {
            let listener = try startListener(seed, app: app, ["--poll-interval", "30s"])
            let t = try table(seed)

            let inserted = Date().timeIntervalSince1970
            let id = try seed.insert(db)
            XCTAssertLessThan(try arrival(app, id) - inserted, 1, "\(seed.profile): POSTed on the insert's notification, not the 30 s poll")
            awaitCondition("\(seed.profile): completed") { (try? status(seed, id)) == "completed" }

            let reopened = Date().timeIntervalSince1970
            try db.query("UPDATE \(t.table) SET \(t.status("")) = \(t.word(.pending)) WHERE \(t.id(""))::text = $1", [id])
            XCTAssertLessThan(try arrival(app, id, number: 2) - reopened, 1, "\(seed.profile): back to pending notifies")
            awaitCondition("\(seed.profile): completed again") { (try? status(seed, id)) == "completed" }

            // The app's own insert, with the table's run_at default two seconds ahead: 'later'.
            try db.query("ALTER TABLE \(t.table) ALTER COLUMN run_at SET DEFAULT now() + interval '2 seconds'")
            let scheduled = try seed.insert(db)
            try db.query("ALTER TABLE \(t.table) ALTER COLUMN run_at SET DEFAULT now()")
            let runAt = try XCTUnwrap(Double(db.query("SELECT extract(epoch FROM run_at)::float8 FROM \(t.table) WHERE \(t.id(""))::text = $1",
                                                      [scheduled]).values[0][0] ?? ""))
            let sent = try arrival(app, scheduled)
            XCTAssertGreaterThanOrEqual(sent, runAt, "\(seed.profile): not before its run_at")
            XCTAssertLessThan(sent - runAt, 1, "\(seed.profile): at its run_at, long before the 30 s poll")
            awaitCondition("\(seed.profile): the scheduled job completed") { (try? status(seed, scheduled)) == "completed" }

            XCTAssertTrue(listener.isRunning, listener.stderr)
            XCTAssertTrue(listener.stderr.contains(#""channel":"\#(t.channel)""#), listener.stderr)
            listener.signal(SIGTERM)
            XCTAssertEqual(listener.wait(timeout: 15), 0, listener.stderr)
        }
    }

    /// SIGTERM with requests in flight on the enum-status table: exit 0 within the grace, the
    /// requests finish, nothing is left in the processing word ('running').
    func testSIGTERMLeavesNothingLeased() throws {
        let seed = ProfileRunTests.seeds[1]
        let app = try startApp(arguments: ["--delay-ms", "1500"])
        let listener = try startListener(seed, app: app, ["--grace", "10s", "--concurrency", "4"])
        for _ in 0..<8 { _ = try seed.insert(db) }
        awaitCondition("requests in flight") { (try? app.requests().count) ?? 0 >= 4 }
        let signalled = Date()
        listener.signal(SIGTERM)
        XCTAssertEqual(listener.wait(timeout: 15), 0, listener.stderr)
        XCTAssertLessThan(Date().timeIntervalSince(signalled), 10, "within the grace period")
        XCTAssertEqual(try count(seed, .processing), 0, "nothing left leased")
        XCTAssertEqual(try count(seed, .completed), try app.requests().count, "the requests in flight finished")
    }

    /// A row the trigger did not see (its triggers disabled for the insert) goes at the backstop poll.
    func testTheBackstopPollFindsWhatNoNotificationSaid() throws {
        let seed = ProfileRunTests.seeds[1]
        let app = try startApp()
        let listener = try startListener(seed, app: app, ["--poll-interval", "1s"])
        try db.query("ALTER TABLE jobs DISABLE TRIGGER jobs_pj_notify_inserted")
        let unnoticed = try seed.insert(db)
        try db.query("ALTER TABLE jobs ENABLE TRIGGER jobs_pj_notify_inserted")
        awaitCondition("sent by the poll", timeout: 10) { (try? status(seed, unnoticed)) == "completed" }
        XCTAssertTrue(listener.isRunning, listener.stderr)
    }

    /// The listening connection killed: reopened, re-LISTENed on the table's channel, and the
    /// next insert is sent on its notification.
    func testAKilledListeningConnectionIsReopenedOnTheTablesChannel() throws {
        let seed = ProfileRunTests.seeds[1]
        let app = try startApp()
        let listener = try startListener(seed, app: app, ["--poll-interval", "30s"])
        let killed = try db.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'process-jobs listen'").values
        XCTAssertEqual(killed.count, 1)
        awaitCondition("listening again", timeout: 30) { listener.stderr.contains("listening again") || !listener.isRunning }
        XCTAssertTrue(listener.isRunning, listener.stderr)
        let inserted = Date().timeIntervalSince1970
        let id = try seed.insert(db)
        XCTAssertLessThan(try arrival(app, id) - inserted, 5, "not left to the 30 s poll")
        awaitCondition("completed") { (try? status(seed, id)) == "completed" }
        XCTAssertTrue(listener.isRunning, listener.stderr)
    }

    /// Through a transaction-mode pooler the check's probe, sent on the table's channel, never
    /// comes back: exit 78 with the way out; with a direct listen connection beside the pooler
    /// the table's jobs are sent on their notifications.
    func testThePoolerCheckUsesTheTablesChannel() throws {
        let seed = ProfileRunTests.seeds[1]
        XCTAssertEqual(try migrate(seed).status, 0)
        let bouncer = try PgBouncer(serverURL: databaseURL)
        defer { bouncer.stop() }
        let others = try (0..<3).map { _ in try Connection(conninfo: bouncer.url(database: databaseName)) }
        for other in others { try other.query("SELECT count(*) FROM jobs") }
        let app = try startApp()
        var env = environment(app: app)
        env["DATABASE_URL"] = bouncer.url(database: databaseName)
        let refused = try runBinary(["run", "--listen", "--table-profile", path(seed), "--route", "\(seed.type)=/api/process-aplus"],
                                    environment: env, timeout: 60)
        XCTAssertEqual(refused.status, 78, refused.stderr)
        XCTAssertTrue(refused.stderr.contains("--listen needs a session connection"), refused.stderr)

        let listener = try startListener(app: app, ["--table-profile", path(seed), "--route", "\(seed.type)=/api/process-aplus",
                                                    "--poll-interval", "30s"],
                                         environment: ["DATABASE_URL": bouncer.url(database: databaseName),
                                                       "PROCESS_JOBS_LISTEN_DATABASE_URL": databaseURL])
        let inserted = Date().timeIntervalSince1970
        let id = try seed.insert(db)
        XCTAssertLessThan(try arrival(app, id) - inserted, 1, "on the notification, claimed through the pooler")
        awaitCondition("completed through the pooler") { (try? status(seed, id)) == "completed" }
        XCTAssertTrue(listener.isRunning, listener.stderr)
    }

    /// Each table notifies its own channel: a job_queue listener (channel process_jobs) is not
    /// woken by a profile table's inserts, nor a profile's listener by job_queue's.
    func testEachTableNotifiesOnlyItsOwnChannel() throws {
        let seed = ProfileRunTests.seeds[1]
        XCTAssertEqual(try migrate(seed).status, 0)
        let channel = try table(seed).channel
        XCTAssertEqual(channel, "process_jobs:jobs")
        let listening = try Connection(conninfo: databaseURL)
        try listening.listen(Listener.channel)
        try listening.listen(channel)
        func heard() throws -> [String] {
            let marker = "marker \(UUID())"
            try db.query("SELECT pg_notify($1, $2)", [Listener.channel, marker])
            var received: [String] = []
            let deadline = Date().addingTimeInterval(10)
            while Date() < deadline {
                for notification in try listening.waitForNotifications(seconds: 1) {
                    if notification.payload == marker { return received }
                    received.append(notification.channel + " " + notification.payload)
                }
            }
            XCTFail("the marker did not arrive")
            return received
        }
        _ = try seed.insert(db)
        XCTAssertEqual(try heard(), ["process_jobs:jobs "])
        _ = try db.insertJob("generate-image")
        XCTAssertEqual(try heard(), ["process_jobs "])
        try db.query("UPDATE jobs SET job_data = '{}'")
        XCTAssertEqual(try heard(), [], "nothing newly due")
    }

    /// migrate --table-profile installs the trigger once: run again it is "already up to date",
    /// takes no lock on the table (an app's open insert does not hold it up), and leaves the
    /// table's own columns, enum labels and policies as they were.
    func testMigrateInstallsTheTriggerOnceAndLeavesTheTableAlone() throws {
        for seed in ProfileRunTests.seeds {
            let t = TableSQL.unchecked(try ProfileRunTests.profile(seed))
            let snapshot = """
                SELECT (SELECT string_agg(attname || ' ' || format_type(atttypid, atttypmod) || ' ' || attnotnull || ' ' || atthasdef, ',' ORDER BY attnum)
                        FROM pg_attribute WHERE attrelid = \(TableSQL.literal(t.table))::regclass AND attnum > 0
                          AND attname NOT IN (\(TableSQL.addedColumns.map(TableSQL.literal).joined(separator: ", ")))),
                       (SELECT string_agg(enumlabel, ',' ORDER BY enumsortorder) FROM pg_enum WHERE enumtypid = to_regtype('job_status')),
                       (SELECT string_agg(polname, ',') FROM pg_policy WHERE polrelid = \(TableSQL.literal(t.table))::regclass)
                """
            let before = try db.query(snapshot).values[0]
            let first = try migrate(seed)
            XCTAssertEqual(first.status, 0, first.stderr)
            XCTAssertTrue(first.stderr.contains("\(t.stem)_pj_notify_inserted"), first.stderr)
            XCTAssertEqual(try db.query("""
                SELECT string_agg(tgname, ',' ORDER BY tgname) FROM pg_trigger WHERE tgrelid = \(TableSQL.literal(t.table))::regclass AND NOT tgisinternal
                """).values[0][0], "\(t.stem)_pj_notify_due_again,\(t.stem)_pj_notify_inserted")

            let app = try Connection(conninfo: databaseURL)
            try app.query("BEGIN")
            _ = try seed.insert(app)  // holds ROW EXCLUSIVE on the table until it ends
            let again = try migrate(seed)
            try app.query("ROLLBACK")
            XCTAssertEqual(again.status, 0, again.stderr)
            XCTAssertTrue(again.stderr.contains("table profile's table already up to date"), again.stderr)
            XCTAssertEqual(try db.query(snapshot).values[0], before, "\(seed.profile): its own columns, enum labels and policies")
        }
    }
}
