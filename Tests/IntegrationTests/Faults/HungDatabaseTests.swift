import Foundation
import PostgresClient
@testable import ProcessJobsCore
import XCTest

/// Fault 6: the database stops answering. The run's own backend is frozen with SIGSTOP, or a
/// table lock holds its statement. The run gives up after --db-timeout (exit 75) without burning
/// a core while it waits, acts on SIGTERM within a second, and loses nothing: the jobs it could
/// not record stay leased and later runs finish them.
final class FaultSuiteHungDatabaseTests: IntegrationTestCase {
    private let total = 300

    func testStoppedBackendEndsTheRunAfterTheDatabaseTimeout() throws {
        let app = try startApp(arguments: ["--delay-ms", "50-100"])
        try db.insertJobs("generate-image", count: total)
        let runner = try startBinary(arguments(dbTimeout: "2s"), environment: environment(app: app))
        let backend = try Hang.backend(of: runner, in: db, database: databaseName)
        awaitCondition("some jobs done") { (try? db.count(where: "status = 'completed'")) ?? 0 >= 10 }
        kill(backend, SIGSTOP)
        var resumed = false
        defer { if !resumed { kill(backend, SIGCONT) } }
        let stopped = Date()
        let watched = Hang.watch(runner, timeout: 15)
        let exitAfter = Date().timeIntervalSince(stopped)
        kill(backend, SIGCONT)
        resumed = true
        XCTAssertEqual(watched.status, 75, watched.stderr.suffix(1500).description)
        XCTAssertLessThan(exitAfter, 2 + 1.5, "exit within --db-timeout + ~1s of the hang")
        XCTAssertLessThan(watched.cpuSeconds, 0.5, "waiting is not spinning: \(watched.cpuSeconds)s of CPU in \(exitAfter)s")
        let message = watched.stderr.split(separator: "\n").last.map(String.init) ?? ""
        XCTAssertTrue(message.contains("database unavailable") && message.contains("2s"), message)

        let logs = try runUntilSettled(arguments(dbTimeout: "30s"), environment: environment(app: app), timeout: 60)
        let census = try Census(db)
        XCTAssertEqual(census.completed, total, "nothing lost: \(census)")
        Fault.figure("db-hung: \(total) jobs, the run's backend stopped (SIGSTOP) mid-run with --db-timeout 2s: "
                     + "exit 75 \(Fault.seconds(exitAfter)) after the stop, \(Fault.seconds(watched.cpuSeconds)) of CPU while waiting; "
                     + "\(census.completed)/\(total) completed after \(logs.count) more runs, 0 lost")
    }

    func testSIGTERMWhileTheBackendIsStoppedIsActedOnWithinASecond() throws {
        let app = try startApp(arguments: ["--delay-ms", "50-100"])
        try db.insertJobs("generate-image", count: total)
        let runner = try startBinary(arguments(dbTimeout: "30s"), environment: environment(app: app))
        let backend = try Hang.backend(of: runner, in: db, database: databaseName)
        awaitCondition("some jobs done") { (try? db.count(where: "status = 'completed'")) ?? 0 >= 10 }
        kill(backend, SIGSTOP)
        var resumed = false
        defer { if !resumed { kill(backend, SIGCONT) } }
        // Once nothing is in flight at the app, the run can only be waiting on the database.
        awaitCondition("requests in flight answered") { (try? app.requests().allSatisfy { $0.status != nil }) ?? false }
        let signalled = Date()
        runner.signal(SIGTERM)
        let watched = Hang.watch(runner, timeout: 15)
        let exitAfter = Date().timeIntervalSince(signalled)
        kill(backend, SIGCONT)
        resumed = true
        XCTAssertNotEqual(watched.status, -1, "the run ended")
        XCTAssertLessThan(exitAfter, 1.5, "SIGTERM acted on within a second while the database hangs")
        XCTAssertTrue(watched.stderr.contains("stop requested"), watched.stderr.suffix(1500).description)
        let sent = try app.requests().count

        _ = try runUntilSettled(arguments(dbTimeout: "30s"), environment: environment(app: app), timeout: 60)
        let census = try Census(db)
        XCTAssertEqual(census.completed, total, "nothing lost: \(census)")
        Fault.figure("db-hung-sigterm: backend stopped, SIGTERM acted on: exit \(watched.status) "
                     + "\(Fault.seconds(exitAfter)) after the signal (--db-timeout 30s); \(sent) requests before; "
                     + "\(census.completed)/\(total) completed by later runs, 0 lost")
    }

    /// Two SIGTERMs while a statement waits on a lock: the run stops (it used to notice only the
    /// jump from 0 to 2, cut the requests in flight and go on claiming once the lock was gone).
    func testTwoSIGTERMsWhileWaitingOnALockStopTheRun() throws {
        let app = try startApp(arguments: ["--delay-ms", "50-100"])
        try db.insertJobs("generate-image", count: total)
        let runner = try startBinary(arguments(dbTimeout: "30s"), environment: environment(app: app))
        let backend = try Hang.backend(of: runner, in: db, database: databaseName)
        awaitCondition("some jobs done") { (try? db.count(where: "status = 'completed'")) ?? 0 >= 10 }
        let locker = try Connection(conninfo: databaseURL)
        try locker.query("BEGIN")
        try locker.query("LOCK TABLE job_queue IN ACCESS EXCLUSIVE MODE")
        awaitCondition("the run waits on the lock") {
            (try? db.query("SELECT wait_event_type FROM pg_stat_activity WHERE pid = $1", [String(backend)]).values.first?[0]) == "Lock"
        }
        let signalled = Date()
        runner.signal(SIGTERM)
        runner.signal(SIGTERM)
        let ended = runner.wait(timeout: 3)
        let exitAfter = Date().timeIntervalSince(signalled)
        let sentAtStop = try app.requests().count
        try locker.query("COMMIT")
        let result = runner.result(timeout: 30)
        XCTAssertNotNil(ended, "the run ends while the lock is still held")
        XCTAssertLessThan(exitAfter, 1.5)
        XCTAssertEqual(try app.requests().count, sentAtStop, "nothing claimed or sent after the signals: \(result.stderr.suffix(800))")
        XCTAssertLessThan(sentAtStop, total)

        _ = try runUntilSettled(arguments(dbTimeout: "30s"), environment: environment(app: app), timeout: 60)
        let census = try Census(db)
        XCTAssertEqual(census.completed, total, "nothing lost: \(census)")
        Fault.figure("db-lock-two-sigterms: exit \(result.status) \(Fault.seconds(exitAfter)) after two SIGTERMs "
                     + "while its statement waited on a table lock; 0 requests after the signals; \(census.completed)/\(total) completed later")
    }

    private func arguments(dbTimeout: String) -> [String] {
        ["run", "--concurrency", "4", "--batch-size", "8", "--request-timeout", "2s", "--lease", "5s",
         "--db-timeout", dbTimeout, "--backoff-base", "200ms", "--backoff-max", "1s", "--log-format", "json"]
    }
}

/// What the hung-database scenarios share: the run's backend, and watching a run wait.
enum Hang {
    /// The server process serving `runner`: the other session named process-jobs in the test's database.
    static func backend(of runner: Child, in db: Connection, database: String) throws -> Int32 {
        var pid: Int32 = 0
        awaitCondition("the run's backend") {
            let row = try? db.query("""
                SELECT pid FROM pg_stat_activity
                WHERE datname = $1 AND application_name = 'process-jobs' AND pid <> pg_backend_pid()
                """, [database]).values.first
            pid = row.flatMap { $0[0] }.flatMap { Int32($0) } ?? 0
            return pid != 0 || !runner.isRunning
        }
        guard pid != 0 else { throw XCTSkip("the run ended before its backend was seen: \(runner.stderr.suffix(500))") }
        return pid
    }

    /// Waits for `runner` to end, sampling its CPU time; the CPU it used while waiting.
    static func watch(_ runner: Child, timeout: Double) -> (status: Int32, stderr: String, cpuSeconds: Double) {
        let first = cpuSeconds(runner.pid)
        var last = first
        let deadline = Date().addingTimeInterval(timeout)
        while runner.isRunning && Date() < deadline {
            if let now = cpuSeconds(runner.pid) { last = now }
            usleep(20_000)
        }
        let result = runner.result(timeout: 0.5)
        return (result.status, result.stderr, (last ?? 0) - (first ?? 0))
    }

    /// User + system CPU seconds of a process, from /proc (nil once it is gone).
    static func cpuSeconds(_ pid: Int32) -> Double? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }
}
