import Foundation
import PostgresClient
@testable import ProcessJobsCore
import XCTest

/// The trigger on a real job_queue: a notification when a job becomes due now, none otherwise,
/// one per statement. Absence is checked without waiting out a timer: a marker NOTIFY sent after
/// the statement arrives after anything the statement sent (delivery is in commit order).
final class ListenTriggerTests: IntegrationTestCase {
    private var listening: Connection!

    override func setUpWithError() throws {
        try super.setUpWithError()
        try db.execute(script: ListenQueries.trigger)
        listening = try Connection(conninfo: databaseURL)
        try listening.listen(Listener.channel)
    }

    override func tearDown() {
        listening = nil
        super.tearDown()
    }

    /// The notifications that arrived before the marker.
    private func notificationsSoFar() throws -> [PostgresNotification] {
        let marker = "marker \(UUID())"
        try db.query("SELECT pg_notify($1, $2)", [Listener.channel, marker])
        var received: [PostgresNotification] = []
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            for notification in try listening.waitForNotifications(seconds: 1) {
                if notification.payload == marker { return received }
                received.append(notification)
            }
        }
        XCTFail("the marker did not arrive")
        return received
    }

    private func insertJob(runAt: String = "now()") throws -> String {
        try XCTUnwrap(db.query("INSERT INTO job_queue (job_type, payload, run_at) VALUES ('t', '{}', \(runAt)) RETURNING id").values[0][0])
    }

    func testAnInsertOfADueJobNotifies() throws {
        _ = try insertJob()
        XCTAssertEqual(try notificationsSoFar().map(\.payload), [""])
        _ = try insertJob(runAt: "now() - interval '1 hour'")
        XCTAssertEqual(try notificationsSoFar().count, 1)
    }

    /// A scheduled job: listeners hear 'later', so their next probe learns its run_at.
    func testAnInsertForLaterNotifiesLater() throws {
        _ = try insertJob(runAt: "now() + interval '1 hour'")
        XCTAssertEqual(try notificationsSoFar().map(\.payload), ["later"])
    }

    func testAnUpdateBackToPendingNotifies() throws {
        let id = try insertJob()
        _ = try notificationsSoFar()
        try db.query("UPDATE job_queue SET status = 'processing', locked_by = 'x' WHERE id = $1", [id])
        XCTAssertEqual(try notificationsSoFar(), [], "taking a job is not a job becoming due")
        try db.query("UPDATE job_queue SET status = 'pending', locked_by = NULL WHERE id = $1", [id])
        XCTAssertEqual(try notificationsSoFar().count, 1, "back to pending, due now")
    }

    func testUpdatesThatLeaveNothingNewlyDueDoNotNotify() throws {
        let due = try insertJob()
        let later = try insertJob(runAt: "now() + interval '1 hour'")
        _ = try notificationsSoFar()
        try db.query("UPDATE job_queue SET payload = '{\"a\":1}' WHERE id = $1", [due])
        XCTAssertEqual(try notificationsSoFar(), [], "already due before")
        try db.query("UPDATE job_queue SET status = 'processing' WHERE id = $1", [later])
        try db.query("UPDATE job_queue SET status = 'pending', run_at = now() + interval '5 minutes' WHERE id = $1", [later])
        XCTAssertEqual(try notificationsSoFar(), [], "a retry in backoff is not due yet")
        try db.query("UPDATE job_queue SET run_at = now() WHERE id = $1", [later])
        XCTAssertEqual(try notificationsSoFar().count, 1, "run_at moved to now: due")
    }

    func testARolledBackInsertNotifiesNobody() throws {
        try db.query("BEGIN")
        _ = try insertJob()
        try db.query("ROLLBACK")
        XCTAssertEqual(try notificationsSoFar(), [])
    }

    func testABulkInsertSendsOneNotification() throws {
        try db.insertJobs("bulk", count: 100_000)
        XCTAssertEqual(try notificationsSoFar().count, 1, "one per statement, not one per row")
        XCTAssertEqual(try db.count(where: "job_type = 'bulk'"), 100_000)
    }

    /// The ticks' updates (claimed, recorded) make nothing due: the UPDATE trigger's WHEN turns
    /// them away before any call, where a statement-level trigger ran for each and held their
    /// rows. A bulk update back to pending calls it per row and still sends one notification.
    func testATicksUpdatesCallNothingAndABulkRetrySendsOne() throws {
        try db.insertJobs("bulk", count: 500)
        _ = try notificationsSoFar()
        func calls(_ update: String) throws -> String? {
            try db.query("BEGIN")
            try db.query("SET LOCAL track_functions = 'all'")
            try db.query(update)
            let calls = try db.query("SELECT pg_stat_get_xact_function_calls('process_jobs_notify_due_again'::regproc)").values[0][0]
            try db.query("COMMIT")
            return calls
        }
        XCTAssertEqual(try calls("UPDATE job_queue SET status = 'processing', locked_by = 'x', locked_until = now() + interval '1 minute'"), nil,
                       "a claim: not called")
        XCTAssertEqual(try calls("UPDATE job_queue SET status = 'completed', locked_by = NULL, locked_until = NULL"), nil, "a record: not called")
        XCTAssertEqual(try notificationsSoFar(), [])
        XCTAssertEqual(try calls("UPDATE job_queue SET status = 'pending'"), "500", "a bulk retry: once per row")
        XCTAssertEqual(try notificationsSoFar().count, 1, "merged into one at commit")
    }

    /// A database migrated before the UPDATE trigger was row-level: the statement-level one is
    /// dropped, the row-level one made, and an update back to pending still notifies once.
    func testTheScriptReplacesTheStatementLevelUpdateTrigger() throws {
        try db.query("DROP TRIGGER job_queue_notify_due_again ON job_queue")
        try db.query("""
            CREATE TRIGGER job_queue_notify_updated AFTER UPDATE ON job_queue
                REFERENCING OLD TABLE AS old_jobs NEW TABLE AS new_jobs
                FOR EACH STATEMENT EXECUTE FUNCTION process_jobs_notify_due()
            """)
        try db.execute(script: ListenQueries.trigger)
        XCTAssertEqual(try db.query("""
            SELECT string_agg(tgname, ',' ORDER BY tgname) FROM pg_trigger WHERE tgrelid = 'job_queue'::regclass AND NOT tgisinternal
            """).values[0][0], "job_queue_notify_due_again,job_queue_notify_inserted")
        let id = try insertJob()
        try db.query("UPDATE job_queue SET status = 'processing' WHERE id = $1", [id])
        _ = try notificationsSoFar()
        try db.query("UPDATE job_queue SET status = 'pending' WHERE id = $1", [id])
        XCTAssertEqual(try notificationsSoFar().count, 1)
    }

    func testTheScriptRunsAgainWithoutChange() throws {
        try db.execute(script: ListenQueries.trigger)
        let triggers = try db.query("SELECT count(*) FROM pg_trigger WHERE tgrelid = 'job_queue'::regclass AND tgname LIKE 'job_queue_notify_%'")
        XCTAssertEqual(triggers.values[0][0], "2")
        _ = try insertJob()
        XCTAssertEqual(try notificationsSoFar().count, 1, "still one notification, not one per run of the script")
    }
}
