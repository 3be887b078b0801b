import Foundation
import PostgresClient
@testable import ProcessJobsCore
import XCTest

/// Fault 7: the run goes through PgBouncer (transaction pooling) and the pool is paused with
/// PAUSE on the admin console: statements wait in the pooler, not in the server. The run gives
/// up after --db-timeout with exit 75 and acts on SIGTERM within a second; nothing is lost.
final class FaultSuitePausedPoolTests: IntegrationTestCase {
    private let total = 300

    func testPausedPoolEndsTheRunAfterTheDatabaseTimeout() throws {
        let bouncer = try PgBouncer(serverURL: databaseURL)
        defer { bouncer.stop() }
        let app = try startApp(arguments: ["--delay-ms", "50-100"])
        try db.insertJobs("generate-image", count: total)
        let runner = try startBinary(arguments(dbTimeout: "2s"), environment: environment(app: app, through: bouncer))
        awaitCondition("some jobs done") { (try? db.count(where: "status = 'completed'")) ?? 0 >= 10 }
        try bouncer.admin("PAUSE \(databaseName)")
        let paused = Date()
        let watched = Hang.watch(runner, timeout: 15)
        let exitAfter = Date().timeIntervalSince(paused)
        try bouncer.admin("RESUME \(databaseName)")
        XCTAssertEqual(watched.status, 75, watched.stderr.suffix(1500).description)
        XCTAssertLessThan(exitAfter, 2 + 1.5, "exit within --db-timeout + ~1s of the pause")
        XCTAssertLessThan(watched.cpuSeconds, 0.5, "waiting is not spinning")

        let logs = try runUntilSettled(arguments(dbTimeout: "30s"), environment: environment(app: app, through: bouncer), timeout: 60)
        let census = try Census(db)
        XCTAssertEqual(census.completed, total, "nothing lost: \(census)")
        Fault.figure("pool-paused: \(total) jobs through PgBouncer (transaction pooling), PAUSE mid-run with --db-timeout 2s: "
                     + "exit 75 \(Fault.seconds(exitAfter)) after the pause, \(Fault.seconds(watched.cpuSeconds)) of CPU while waiting; "
                     + "after RESUME \(census.completed)/\(total) completed in \(logs.count) more runs, 0 lost")
    }

    func testSIGTERMWhileThePoolIsPausedIsActedOnWithinASecond() throws {
        let bouncer = try PgBouncer(serverURL: databaseURL)
        defer { bouncer.stop() }
        let app = try startApp(arguments: ["--delay-ms", "50-100"])
        try db.insertJobs("generate-image", count: total)
        let runner = try startBinary(arguments(dbTimeout: "30s"), environment: environment(app: app, through: bouncer))
        awaitCondition("some jobs done") { (try? db.count(where: "status = 'completed'")) ?? 0 >= 10 }
        try bouncer.admin("PAUSE \(databaseName)")
        awaitCondition("requests in flight answered") { (try? app.requests().allSatisfy { $0.status != nil }) ?? false }
        let signalled = Date()
        runner.signal(SIGTERM)
        let watched = Hang.watch(runner, timeout: 15)
        let exitAfter = Date().timeIntervalSince(signalled)
        try bouncer.admin("RESUME \(databaseName)")
        XCTAssertNotEqual(watched.status, -1)
        XCTAssertLessThan(exitAfter, 1.5, "SIGTERM acted on within a second while the pool is paused")

        _ = try runUntilSettled(arguments(dbTimeout: "30s"), environment: environment(app: app, through: bouncer), timeout: 60)
        let census = try Census(db)
        XCTAssertEqual(census.completed, total, "nothing lost: \(census)")
        Fault.figure("pool-paused-sigterm: SIGTERM while PgBouncer's pool is paused: exit \(watched.status) "
                     + "\(Fault.seconds(exitAfter)) after the signal (--db-timeout 30s); \(census.completed)/\(total) completed later, 0 lost")
    }

    private func environment(app: TestApp, through bouncer: PgBouncer) -> [String: String] {
        var environment = environment(app: app)
        environment["DATABASE_URL"] = bouncer.url(database: databaseName)
        return environment
    }

    private func arguments(dbTimeout: String) -> [String] {
        ["run", "--concurrency", "4", "--batch-size", "8", "--request-timeout", "2s", "--lease", "5s",
         "--db-timeout", dbTimeout, "--backoff-base", "200ms", "--backoff-max", "1s", "--log-format", "json"]
    }
}

/// Debian's pgbouncer in transaction mode in front of the test server, on a free port, run as
/// the postgres user (it refuses root); the admin console takes PAUSE and RESUME.
final class PgBouncer {
    let port: Int
    private let directory: String
    private let process: Child
    private let user: String
    private let password: String

    init(serverURL: String) throws {
        guard let binary = ["/usr/sbin/pgbouncer", "/usr/bin/pgbouncer"].first(where: FileManager.default.isExecutableFile) else {
            throw XCTSkip("pgbouncer is not installed: scripts/setup installs it")
        }
        guard let server = URLComponents(string: serverURL), let serverPort = server.port else {
            throw XCTSkip("pgbouncer tests need a URL-form TEST_DATABASE_URL")
        }
        user = server.user ?? "postgres"
        password = server.password ?? ""
        port = Fault.freePort()
        directory = "/tmp/pj-pgbouncer-\(getpid())-\(port)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let config = """
            [databases]
            * = host=\(server.host ?? "127.0.0.1") port=\(serverPort)
            [pgbouncer]
            listen_addr = 127.0.0.1
            listen_port = \(port)
            unix_socket_dir =
            auth_type = plain
            auth_file = \(directory)/users.txt
            admin_users = \(user)
            pool_mode = transaction
            logfile = \(directory)/pgbouncer.log
            ignore_startup_parameters = extra_float_digits

            """
        try config.write(toFile: directory + "/pgbouncer.ini", atomically: true, encoding: .utf8)
        try "\"\(user)\" \"\(password)\"\n".write(toFile: directory + "/users.txt", atomically: true, encoding: .utf8)
        var arguments = [binary, directory + "/pgbouncer.ini"]
        var executable = binary
        if getuid() == 0 {
            _ = try shell("/bin/chown", ["-R", "postgres", directory])
            executable = "/usr/bin/setpriv"
            arguments = ["--reuid=postgres", "--regid=postgres", "--clear-groups"] + arguments
        } else {
            arguments.removeFirst()
        }
        process = try Child(executable, arguments, environment: ["PATH": "/usr/bin:/bin"])
        let url = self.url(database: "pgbouncer")
        awaitCondition("pgbouncer accepts connections", timeout: 15) {
            (try? shell("/usr/bin/psql", [url, "-Atc", "SHOW VERSION"], timeout: 5).status) == 0 || !process.isRunning
        }
        guard process.isRunning else { throw TestAppError(message: "pgbouncer did not start: \(process.stderr)") }
    }

    func url(database: String) -> String {
        "postgresql://\(user):\(password)@127.0.0.1:\(port)/\(database)"
    }

    /// A command on the admin console (simple query protocol, as the console requires).
    func admin(_ command: String) throws {
        let result = try shell("/usr/bin/psql", [url(database: "pgbouncer"), "-Atc", command], timeout: 30)
        guard result.status == 0 else { throw TestAppError(message: "pgbouncer \(command): \(result.stderr)") }
    }

    func stop() {
        process.signal(SIGTERM)
        _ = process.wait(timeout: 5)
        process.cleanUp()
        try? FileManager.default.removeItem(atPath: directory)
    }
}
