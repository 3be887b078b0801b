import Foundation
import PostgresClient
@testable import ProcessJobsCore
import XCTest

/// The cut-over: the old Edge Function (its four SQL functions, as the migration redefines them)
/// and process-jobs on the same table at the same time.
final class CutOverTests: IntegrationTestCase {
    func testOldFunctionsHonourRunAtAndLiveLeases() throws {
        // Oldest first: a job in backoff, one scheduled for later, one processing under a live
        // process-jobs lease, then the one job that is due.
        let backoff = try db.insertJob("generate-image")
        try db.query("UPDATE job_queue SET retry_count = 1, run_at = now() + interval '30 seconds' WHERE id = $1", [backoff])
        let later = try db.insertJob("generate-image")
        try db.query("UPDATE job_queue SET run_at = now() + interval '1 hour' WHERE id = $1", [later])
        let leased = try db.insertJob("generate-image")
        try db.query("UPDATE job_queue SET status = 'processing', processed_at = now(), locked_until = now() + interval '5 minutes', locked_by = 'web-1:7' WHERE id = $1", [leased])
        let due = try db.insertJob("generate-image")

        XCTAssertEqual(try db.query("SELECT id FROM get_next_job()").values.map { $0[0] }, [due])
        try db.query("SELECT mark_job_processing($1)", [due])
        let lease = try db.query("""
            SELECT status, locked_by, extract(epoch FROM locked_until - now())::float8 FROM job_queue WHERE id = $1
            """, [due]).values[0]
        XCTAssertEqual(lease[0], "processing")
        XCTAssertEqual(lease[1], Migration.edgeFunctionLockedBy)
        XCTAssertEqual(try XCTUnwrap(Double(lease[2] ?? "")), 300, accuracy: 5, "the default lease: 2 × 120s + 60s")
        XCTAssertEqual(try db.query("SELECT count(*) FROM get_next_job()").values[0][0], "0", "nothing else is due")

        // The old functions never overwrite a live lease of process-jobs.
        try db.query("SELECT mark_job_processing($1)", [leased])
        try db.query("SELECT mark_job_completed($1)", [leased])
        XCTAssertEqual(try db.job(leased).lockedBy, "web-1:7")
        XCTAssertEqual(try db.job(leased).status, "processing")

        // A failed attempt gives the job back, without the lease.
        try db.query("SELECT mark_job_failed($1, 'boom')", [due])
        let failed = try db.job(due)
        XCTAssertEqual(failed.status, "pending")
        XCTAssertEqual(failed.retryCount, 1)
        XCTAssertNil(failed.lockedBy)
        XCTAssertEqual(try db.query("SELECT id FROM get_next_job()").values.map { $0[0] }, [due], "due again at once, as before")
    }

    /// The Edge Function's loop in SQL (get_next_job, mark_job_processing, "send" of 10 ms, mark_job_completed),
    /// run as fast as it can beside process-jobs runners: no job is sent twice, none before its run_at.
    func testOldFunctionsBesideRunnersSendNoJobTwice() throws {
        let app = try startApp()
        try db.insertJobs("generate-image", count: 120)
        // 30 jobs in backoff, the oldest ones, due 1 to 2 s from now.
        try db.query("""
            INSERT INTO job_queue (job_type, payload, user_id, retry_count, created_at, run_at)
            SELECT 'generate-image', '{"projectId":"b"}', 'u', 1, now() - interval '1 hour', now() + (1 + g / 30.0) * interval '1 second'
            FROM generate_series(1, 30) g
            """)
        let edge = try EdgeFunctionLoop(databaseURL: databaseURL)
        edge.start()
        defer { edge.stop() }

        let deadline = Date().addingTimeInterval(60)
        while try db.count(where: "status = 'completed'") < 150 && Date() < deadline {
            let runners = try (0..<2).map { _ in try startBinary(["run", "--max-runtime", "0"], environment: environment(app: app)) }
            for runner in runners { XCTAssertEqual(runner.result(timeout: 60).status, 0) }
        }
        edge.stop()
        XCTAssertEqual(try db.count(where: "status = 'completed'"), 150)

        let edgeSent = edge.sent
        let appSent = try app.requests().compactMap(\.jobId)
        var times: [String: Int] = [:]
        for id in edgeSent.map(\.id) + appSent { times[id, default: 0] += 1 }
        XCTAssertEqual(times.count, 150, "every job sent")
        XCTAssertEqual(times.filter { $0.value > 1 }.count, 0, "sent twice: \(times.filter { $0.value > 1 })")
        XCTAssertGreaterThan(edgeSent.count, 0, "the Edge Function took part")
        XCTAssertGreaterThan(appSent.count, 0, "process-jobs took part")
        XCTAssertEqual(edgeSent.filter { $0.early }.count, 0, "the Edge Function took jobs before their run_at")
        print("cut-over: 150 jobs (30 in backoff), Edge Function loop sent \(edgeSent.count), process-jobs sent \(appSent.count), \(times.filter { $0.value > 1 }.count) twice")
    }
}

/// The Edge Function's calls, one transaction each as PostgREST makes them, in a loop on its own thread.
final class EdgeFunctionLoop: @unchecked Sendable {
    struct Sent { let id: String; let early: Bool }

    private let connection: Connection
    private let lock = NSLock()
    private var stopping = false
    private var done = false
    private var sentJobs: [Sent] = []
    private var thread: Thread?

    init(databaseURL: String) throws {
        connection = try Connection(conninfo: databaseURL)
    }

    var sent: [Sent] { lock.withLock { sentJobs } }

    func start() {
        let thread = Thread { [self] in
            while !lock.withLock({ stopping }) {
                do {
                    let rows = try connection.query("SELECT id::text, run_at > now() FROM get_next_job()")
                    guard let row = rows.values.first, let id = row[0] else { continue }
                    try connection.query("SELECT mark_job_processing($1)", [id])
                    lock.withLock { sentJobs.append(Sent(id: id, early: row[1] == "t")) }
                    // The request to the app takes a moment, as it does for the real Edge Function.
                    try connection.query("SELECT pg_sleep(0.01)")
                    try connection.query("SELECT mark_job_completed($1)", [id])
                } catch {
                    continue
                }
            }
            lock.withLock { done = true }
        }
        self.thread = thread
        thread.start()
    }

    func stop() {
        lock.withLock { stopping = true }
        guard thread != nil else { return }
        while !lock.withLock({ done }) { usleep(1_000) }
        thread = nil
    }
}
