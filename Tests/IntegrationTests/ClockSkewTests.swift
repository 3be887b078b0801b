import Foundation
import PostgresClient
@testable import ProcessJobsCore
import XCTest

/// A host whose clock is hours off must not steal live leases nor write skewed times: every
/// time the run writes or compares is the database's now(). The skewed run goes through
/// libfaketime (Debian package faketime), which works on the binary: it links libc dynamically
/// (the release build links only the Swift runtime statically), and its log lines show the skew.
final class ClockSkewTests: IntegrationTestCase {
    private func runSkewed(_ offset: String, app: TestApp) throws -> CommandResult {
        try shell("/usr/bin/faketime", ["-f", offset, Paths.binary, "run", "--log-format", "json"],
                  environment: binaryEnvironment(environment(app: app)), timeout: 60)
    }

    func testHostClockHoursAheadNeitherStealsALiveLeaseNorSkewsBackoff() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/faketime") else {
            throw XCTSkip("faketime is not installed (Debian package faketime; scripts/setup installs it)")
        }
        let app = try startApp()
        // Another runner holds a live lease (60s, by the database's clock).
        let leased = try db.insertJob("generate-image")
        let other = JobStore(connection: try Connection(conninfo: databaseURL), lockedBy: "other-host:7")
        let claimed = try other.tick(outcomes: [], claim: .init(limit: 1, quotas: [("generate-image", 1)], lease: 60, rescue: false))
        XCTAssertEqual(claimed.claimed.map(\.id), [leased])
        let failing = try db.insertJob("generate-aplus", payload: #"{"projectId":"boom"}"#)
        let fine = try db.insertJob("generate-aplus", payload: #"{"projectId":"p"}"#)

        let ahead = try runSkewed("+2h", app: app)
        XCTAssertEqual(ahead.status, 0, ahead.stderr)
        // The skew took hold: the run's own log stamps are two hours ahead.
        let stamp = try XCTUnwrap(Fault.logLines(ahead.stderr).compactMap { Fault.field($0, "ts") }.last)
        let logged = try XCTUnwrap(ISO8601DateFormatter().date(from: stamp))
        XCTAssertEqual(logged.timeIntervalSinceNow, 7200, accuracy: 120, "faketime did not reach the binary: \(stamp)")

        let lease = try db.job(leased)
        XCTAssertEqual(lease.status, "processing", "a live lease is not rescued by a clock that runs ahead")
        XCTAssertEqual(lease.lockedBy, "other-host:7")
        XCTAssertEqual(lease.retryCount, 0)
        XCTAssertEqual(Fault.field(try XCTUnwrap(Fault.summary(ahead.stderr)), "rescued"), "0")
        // Backoff and completion times are the database's: 30s from now, not two hours and 30s.
        let backoff = try db.job(failing).runInSeconds
        XCTAssertTrue((30 * 0.8 - 5)...(30 * 1.2 + 0.5) ~= backoff, "30s +/- 20% by the database's clock, not \(backoff)s")
        let written = try db.query("SELECT abs(extract(epoch FROM completed_at - now()))::float8 FROM job_queue WHERE id = $1", [fine])
        XCTAssertLessThan(Double(written.values[0][0]!)!, 60)

        // Once the lease really expires (by the database's clock), the same skewed host rescues it.
        try db.query("UPDATE job_queue SET locked_until = now() - interval '1 second' WHERE id = $1", [leased])
        let later = try runSkewed("+2h", app: app)
        XCTAssertEqual(later.status, 0, later.stderr)
        XCTAssertEqual(Fault.field(try XCTUnwrap(Fault.summary(later.stderr)), "rescued"), "1")
        // Pending again after its backoff, by the database's clock.
        let rescued = try db.job(leased)
        XCTAssertEqual(rescued.status, "pending")
        XCTAssertEqual(rescued.retryCount, 1)
        XCTAssertTrue((30 * 0.8 - 5)...(30 * 1.2 + 0.5) ~= rescued.runInSeconds, "30s +/- 20% by the database's clock, not \(rescued.runInSeconds)s")

        // A clock hours behind changes nothing either.
        let behind = try db.insertJob("generate-aplus", payload: #"{"projectId":"p"}"#)
        let late = try runSkewed("-3h", app: app)
        XCTAssertEqual(late.status, 0, late.stderr)
        XCTAssertEqual(try db.job(behind).status, "completed")
    }
}
