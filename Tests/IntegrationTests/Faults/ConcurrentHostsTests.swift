import Foundation
import PostgresClient
@testable import ProcessJobsCore
import XCTest

/// Fault 7: eight runners on several "hosts" (each in its own UTS namespace with its own host
/// name, so locked_by differs as it would across machines) drain one queue at once. SKIP LOCKED
/// must give every job to exactly one of them: each job POSTed exactly once.
final class FaultSuiteConcurrentHostsTests: IntegrationTestCase {
    func testEightRunnersOnSeveralHosts() throws {
        let total = 10_000, runnerCount = 8
        let app = try startApp()
        try db.insertJobs("generate-image", count: total / 2)
        try db.insertJobs("generate-aplus", count: total / 2, payload: #"{"projectId":"p"}"#)
        let arguments = ["run", "--concurrency", "8", "--batch-size", "32", "--log-format", "json"]
        // Separate host names need a UTS namespace (root, or a user namespace); else one host, eight pids.
        let namespaces = (try? shell("/usr/bin/unshare", ["--uts", "/bin/true"], timeout: 10).status) == 0
        let started = Date()
        let runners = try (1...runnerCount).map { index -> Child in
            guard namespaces else { return try startBinary(arguments, environment: environment(app: app)) }
            return try Child("/usr/bin/unshare", ["--uts", "/bin/sh", "-c", "hostname \"host-$0\" && exec \"$@\"",
                                                  String(index), Paths.binary] + arguments,
                             environment: binaryEnvironment(environment(app: app)))
        }
        // Who holds leases while they run.
        var holders = Set<String>()
        while runners.contains(where: \.isRunning) && Date().timeIntervalSince(started) < 120 {
            for row in try db.query("SELECT DISTINCT locked_by FROM job_queue WHERE locked_by IS NOT NULL").values {
                holders.insert(row[0]!)
            }
            usleep(20_000)
        }
        var perRunner: [Int] = []
        for runner in runners {
            let result = runner.result(timeout: 30)
            XCTAssertEqual(result.status, 0, result.stderr.suffix(2000).description)
            perRunner.append(Fault.summary(result.stderr).flatMap { Int(Fault.field($0, "completed") ?? "") } ?? 0)
        }
        let seconds = Date().timeIntervalSince(started)

        let census = try Census(db)
        XCTAssertEqual(census.completed, total, "\(census)")
        let requests = try app.requests()
        let perJob = Fault.byJob(requests)
        XCTAssertEqual(perJob.count, total, "every job POSTed")
        let duplicates = perJob.values.map { $0.count - 1 }.reduce(0, +)
        XCTAssertEqual(duplicates, 0, "each job POSTed exactly once")
        XCTAssertEqual(perRunner.reduce(0, +), total)
        XCTAssertTrue(perRunner.allSatisfy { $0 > 0 }, "every runner took part: \(perRunner)")
        let hosts = Set(holders.map { $0.split(separator: ":").dropLast().joined(separator: ":") })
        if namespaces { XCTAssertEqual(hosts.count, runnerCount, "\(holders)") }
        Fault.figure("concurrent-hosts: \(total) jobs, \(runnerCount) runners as \(hosts.count) host names (\(holders.count) locked_by seen), "
                     + "\(requests.count) requests, \(duplicates) duplicates, \(total - perJob.count) never sent, "
                     + "\(census.completed) completed in \(Fault.seconds(seconds)) (per runner \(perRunner.min()!)-\(perRunner.max()!))")
    }
}
