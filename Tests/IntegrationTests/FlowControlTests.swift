import Foundation
import PostgresClient
@testable import ProcessJobsCore
import XCTest

/// The tick statement's flow control against a real PostgreSQL, through JobStore: route rates,
/// global concurrency, pauses, fair shares and the user cap, with several claimers at once.
final class FlowControlTests: IntegrationTestCase {
    private let type = "generate-image"

    private func store(_ holder: String) throws -> JobStore {
        JobStore(connection: try Connection(conninfo: databaseURL), lockedBy: holder)
    }

    private func claim(quota: Int = 10, limits: RouteLimits? = nil, fairBy: FairBy = .none,
                       userConcurrency: Int? = nil, types: [String]? = nil) -> JobStore.Claim {
        .init(limit: quota * (types?.count ?? 1), quotas: (types ?? [type]).map { ($0, quota) }, lease: 60, rescue: false,
              limits: limits.map { limits in Dictionary(uniqueKeysWithValues: (types ?? [type]).map { ($0, limits) }) } ?? [:],
              fairBy: fairBy, userConcurrency: userConcurrency)
    }

    private func complete(_ jobs: [ClaimedJob]) -> [PendingOutcome] {
        jobs.map { PendingOutcome(job: $0, outcome: .complete(result: nil)) }
    }

    /// Every row as text, to compare before and after byte for byte.
    private func rowsAsText(where condition: String = "true") throws -> [String?] {
        try db.query("SELECT q::text FROM job_queue q WHERE \(condition) ORDER BY id").values.map { $0[0] }
    }

    private func insertJobs(_ count: Int, user: String?, type: String? = nil) throws {
        try db.query("""
            INSERT INTO job_queue (job_type, payload, user_id, created_at)
            SELECT $1, '{"projectId":"p"}', $2, clock_timestamp() FROM generate_series(1, $3::int)
            """, [type ?? self.type, user, String(count)])
    }

    /// A route's first claim anywhere makes its row and takes oldest first (runners that start
    /// together would otherwise all scan from the same cursor); the fair tests start from routes
    /// that have claimed before.
    private func routeRows(_ types: [String]) throws {
        for type in types {
            try db.query("INSERT INTO process_jobs.route_state (job_type) VALUES ($1) ON CONFLICT DO NOTHING", [type])
        }
    }

    private func users(of jobs: [ClaimedJob]) throws -> [String] {
        try jobs.map { try db.query("SELECT coalesce(user_id, 'none') FROM job_queue WHERE id = $1", [$0.id]).values[0][0]! }
    }

    // MARK: Rate

    func testRateHoldsJobsBackUntouchedAndSaysWhenTheNextSlotComes() throws {
        try insertJobs(5, user: "u1")
        let runner = try store("host:1")
        let limits = RouteLimits(rate: RouteRate(count: 1, period: 3600))
        let first = try runner.tick(outcomes: [], claim: claim(quota: 5, limits: limits))
        // A route's first claim anywhere makes its row and takes nothing yet.
        XCTAssertEqual(first.claimed.count, 0)
        XCTAssertEqual(first.holds.map(\.reason), [.contended])
        let before = try rowsAsText()
        let second = try runner.tick(outcomes: [], claim: claim(quota: 5, limits: limits))
        XCTAssertEqual(second.claimed.count, 1, "burst 1: one start now")
        let hold = try XCTUnwrap(second.holds.first)
        XCTAssertEqual(hold.reason, .rate)
        XCTAssertEqual(hold.held, 4)
        XCTAssertEqual(try XCTUnwrap(hold.nextIn), 3600, accuracy: 5)
        let claimedID = second.claimed[0].id
        XCTAssertEqual(try rowsAsText(where: "id <> '\(claimedID)'"), before.filter { !($0 ?? "").contains(claimedID) },
                       "held jobs are not touched at all")

        let third = try runner.tick(outcomes: [], claim: claim(quota: 5, limits: limits))
        XCTAssertEqual(third.claimed.count, 0)
        XCTAssertEqual(third.holds.first?.reason, .rate)
        XCTAssertEqual(third.holds.first?.held, 4)
    }

    func testBurstAllowsThatManyAtOnce() throws {
        try insertJobs(10, user: "u1")
        let runner = try store("host:1")
        let limits = RouteLimits(rate: RouteRate(count: 1, period: 3600, burst: 3))
        _ = try runner.tick(outcomes: [], claim: claim(limits: limits))
        XCTAssertEqual(try runner.tick(outcomes: [], claim: claim(limits: limits)).claimed.count, 3)
        XCTAssertEqual(try runner.tick(outcomes: [], claim: claim(limits: limits)).claimed.count, 0)
    }

    /// Several claimers on their own connections at once: the starts (claim times, the database's
    /// clock) never exceed the GCRA's bound: in any stretch from one start to a later one, at most
    /// burst + floor(stretch / interval) starts.
    func testRateIsNeverExceededAcrossConcurrentClaimers() throws {
        try insertJobs(200, user: nil)
        let rate = RouteRate(count: 20, period: 1, burst: 2)
        let results = try claimConcurrently(claimers: 4, seconds: 2.5, claim: claim(quota: 5, limits: RouteLimits(rate: rate)))
        let starts = try db.query("SELECT extract(epoch FROM processed_at)::float8 FROM job_queue WHERE processed_at IS NOT NULL ORDER BY 1")
            .values.map { Double($0[0]!)! }
        XCTAssertGreaterThan(starts.count, 20, "the claimers took jobs")
        XCTAssertGreaterThan(results.claimersThatTook.count, 1, "more than one claimer took part")
        for i in starts.indices {
            for j in starts.indices where j > i {
                let allowed = rate.burst + Int(((starts[j] - starts[i]) / rate.interval + 1e-6).rounded(.down))
                XCTAssertLessThanOrEqual(j - i + 1, allowed, "starts \(i)...\(j) within \(starts[j] - starts[i])s")
            }
        }
    }

    // MARK: Concurrency

    /// Four claimers race for the route's slots from empty, round after round: the live leases
    /// never exceed the limit. (Leases are not ended during a round: a lease's claim time, now(),
    /// is taken before the statement is planned and its snapshot taken, so intervals on the
    /// database's clock would show overlaps the claim never saw.)
    func testGlobalConcurrencyIsNeverExceededAcrossConcurrentClaimers() throws {
        try insertJobs(200, user: nil)
        var claimers = Set<Int>(), most = 0
        for _ in 0..<5 {
            let results = try claimConcurrently(claimers: 4, seconds: 0.4, holdTicks: .max,
                                                claim: claim(quota: 2, limits: RouteLimits(concurrency: 3)))
            claimers.formUnion(results.claimersThatTook)
            let live = try db.count(where: "status = 'processing' AND locked_until > now()")
            XCTAssertLessThanOrEqual(live, 3, "live leases of the route")
            most = max(most, live)
            try db.query("UPDATE job_queue SET status = 'completed', completed_at = now(), locked_until = NULL WHERE status = 'processing'")
        }
        XCTAssertEqual(most, 3, "the limit was reached")
        XCTAssertGreaterThan(claimers.count, 1, "more than one claimer took part")
    }

    func testConcurrencyCountsLiveLeasesOfEveryRunnerButNotExpiredOnes() throws {
        try insertJobs(6, user: nil)
        let other = try store("other:1"), runner = try store("host:1")
        let limits = RouteLimits(concurrency: 2)
        _ = try other.tick(outcomes: [], claim: claim(limits: limits))
        XCTAssertEqual(try other.tick(outcomes: [], claim: claim(limits: limits)).claimed.count, 2)
        let held = try runner.tick(outcomes: [], claim: claim(limits: limits))
        XCTAssertEqual(held.claimed.count, 0)
        XCTAssertEqual(held.holds, [RouteHold(type: type, reason: .concurrency, held: 4, nextIn: nil)])
        try db.query("UPDATE job_queue SET locked_until = now() - interval '1 second' WHERE status = 'processing'")
        XCTAssertEqual(try runner.tick(outcomes: [], claim: claim(limits: limits)).claimed.count, 2, "expired leases do not count")
    }

    func testARouteRowHeldByAnotherClaimIsContended() throws {
        try insertJobs(3, user: nil)
        let runner = try store("host:1")
        let limits = RouteLimits(concurrency: 5)
        _ = try runner.tick(outcomes: [], claim: claim(limits: limits))
        let other = try Connection(conninfo: databaseURL)
        try other.query("BEGIN")
        try other.query("SELECT 1 FROM process_jobs.route_state WHERE job_type = $1 FOR UPDATE", [type])
        let held = try runner.tick(outcomes: [], claim: claim(limits: limits))
        XCTAssertEqual(held.claimed.count, 0)
        XCTAssertEqual(held.holds, [RouteHold(type: type, reason: .contended, held: 3, nextIn: 0)])
        try other.query("ROLLBACK")
        XCTAssertEqual(try runner.tick(outcomes: [], claim: claim(limits: limits)).claimed.count, 3)
    }

    // MARK: Pause

    func testAPauseWrittenByOneRunnerHoldsEveryRunnerOff() throws {
        try insertJobs(3, user: nil)
        let writer = try store("host:1"), reader = try store("host:2")
        let written = try writer.tick(outcomes: [], claim: nil, pauses: [RoutePause(type: type, seconds: 30, reason: "HTTP 429 from the app")])
        XCTAssertEqual(written.claimed.count, 0)
        let before = try rowsAsText()
        let held = try reader.tick(outcomes: [], claim: claim())
        XCTAssertEqual(held.claimed.count, 0)
        XCTAssertEqual(held.holds.map(\.reason), [.paused])
        XCTAssertEqual(held.holds.first?.held, 3)
        XCTAssertEqual(try XCTUnwrap(held.holds.first?.nextIn), 30, accuracy: 2)
        XCTAssertEqual(try rowsAsText(), before, "held jobs are not touched at all")

        // A shorter pause never shortens a longer one.
        _ = try writer.tick(outcomes: [], claim: nil, pauses: [RoutePause(type: type, seconds: 1, reason: "HTTP 503 from the app")])
        let reason = try db.query("SELECT reason, extract(epoch FROM paused_until - now())::float8 FROM process_jobs.route_pause")
        XCTAssertEqual(reason.values[0][0], "HTTP 429 from the app")
        XCTAssertEqual(Double(reason.values[0][1]!)!, 30, accuracy: 2)

        // Once it ends, the route is claimed again.
        try db.query("UPDATE process_jobs.route_pause SET paused_until = now() - interval '1 second'")
        XCTAssertEqual(try reader.tick(outcomes: [], claim: claim()).claimed.count, 3)
    }

    func testAPauseWrittenWithAClaimHoldsThatClaim() throws {
        try insertJobs(2, user: nil)
        let runner = try store("host:1")
        let result = try runner.tick(outcomes: [], claim: claim(limits: RouteLimits(concurrency: 4)),
                                     pauses: [RoutePause(type: type, seconds: 10, reason: "HTTP 429 from the app"),
                                              RoutePause(type: type, seconds: 20, reason: "HTTP 503 from the app")])
        XCTAssertEqual(result.claimed.count, 0)
        XCTAssertEqual(result.holds.map(\.reason), [.paused])
        XCTAssertEqual(try XCTUnwrap(result.holds.first?.nextIn), 20, accuracy: 2, "the longest of the tick's pauses")
    }

    // MARK: Fair shares

    /// User A queues 500 jobs, then user B 5: B's jobs come with the first claim, not after A's 500.
    func testFairSharesServeTheLateUserAtOnce() throws {
        try routeRows([type])
        try insertJobs(500, user: "user-a")
        try insertJobs(5, user: "user-b")
        let runner = try store("host:1")
        var order: [String] = []
        var pending: [ClaimedJob] = []
        for _ in 0..<3 {
            let result = try runner.tick(outcomes: complete(pending), claim: claim(quota: 10, fairBy: .user))
            pending = result.claimed
            order += try pending.map { try XCTUnwrap(db.query("SELECT user_id FROM job_queue WHERE id = $1", [$0.id]).values[0][0]) }
        }
        XCTAssertEqual(order.prefix(10).filter { $0 == "user-b" }.count, 5, "all of B's jobs in the first claim: \(order)")
        // Oldest first within a user, and taken in round-robin order.
        let firstClaim = Array(order.prefix(10))
        XCTAssertEqual(firstClaim.prefix(2).sorted(), ["user-a", "user-b"], "round 1: one job of each user")
        let none = try store("host:2").tick(outcomes: [], claim: claim(quota: 10, fairBy: .none))
        XCTAssertEqual(try none.claimed.map { try db.query("SELECT user_id FROM job_queue WHERE id = $1", [$0.id]).values[0][0] },
                       Array(repeating: "user-a", count: 10), "--fair-by none: oldest first")
    }

    /// A user with few jobs leaves its share to the others: the claim is still full, round robin.
    func testAFairClaimIsFullWhenOneUserHasFewJobs() throws {
        try routeRows([type])
        try insertJobs(20, user: "user-a")
        try insertJobs(2, user: "user-b")
        let result = try store("host:1").tick(outcomes: [], claim: claim(quota: 10, fairBy: .user))
        let users = try result.claimed.map { try db.query("SELECT user_id FROM job_queue WHERE id = $1", [$0.id]).values[0][0]! }
        XCTAssertEqual(users, ["user-a", "user-b", "user-a", "user-b"] + Array(repeating: "user-a", count: 6))
    }

    /// A route's first claim anywhere, and a claim while another tick holds the route's row (and
    /// so takes the next jobs of the users after the shared cursor), take oldest first: with one
    /// job per user, a fair scan from that cursor would find only locked jobs and end the run.
    func testAFairClaimWithoutTheRoutesCursorTakesOldestFirst() throws {
        try insertJobs(4, user: "user-a")
        try insertJobs(4, user: "user-b")
        let runner = try store("host:1")
        let first = try runner.tick(outcomes: [], claim: claim(quota: 3, fairBy: .user))
        XCTAssertEqual(try users(of: first.claimed), ["user-a", "user-a", "user-a"], "the route's first claim")
        XCTAssertEqual(try db.query("SELECT count(*) FROM process_jobs.route_state WHERE job_type = $1", [type]).values[0][0], "1",
                       "and it made the route's row")
        let other = try Connection(conninfo: databaseURL)
        try other.query("BEGIN")
        try other.query("SELECT 1 FROM process_jobs.route_state WHERE job_type = $1 FOR UPDATE", [type])
        let busy = try runner.tick(outcomes: complete(first.claimed), claim: claim(quota: 3, fairBy: .user))
        XCTAssertEqual(try users(of: busy.claimed), ["user-a", "user-b", "user-b"], "oldest first while the row is held")
        XCTAssertEqual(busy.holds, [], "fairness alone never holds a route back")
        try other.query("ROLLBACK")
        try insertJobs(2, user: "user-c")
        let fair = try runner.tick(outcomes: complete(busy.claimed), claim: claim(quota: 2, fairBy: .user))
        XCTAssertEqual(try users(of: fair.claimed).sorted(), ["user-b", "user-c"], "round robin again with the cursor")
    }

    /// With more users than a claim takes, the cursor moves on: every user is served within
    /// users / quota claims, and the jobs without a user form one group of their own.
    func testTheFairCursorServesEveryUserInTurn() throws {
        try routeRows([type])
        for user in 0..<9 { try insertJobs(3, user: "user-\(user)") }
        try insertJobs(3, user: nil)
        let runner = try store("host:1")
        var served: [String] = []
        var pending: [ClaimedJob] = []
        for _ in 0..<4 {
            let result = try runner.tick(outcomes: complete(pending), claim: claim(quota: 3, fairBy: .user))
            pending = result.claimed
            served += try pending.map { try db.query("SELECT coalesce(user_id, 'none') FROM job_queue WHERE id = $1", [$0.id]).values[0][0]! }
        }
        XCTAssertEqual(Set(served.prefix(9)).count, 9, "three claims, nine groups, none twice: \(served)")
        XCTAssertTrue(served.contains("none"))
        XCTAssertEqual(Set(served).count, 10, "every user (and the null group) served within 4 claims of 3: \(served)")
    }

    // MARK: User cap

    func testUserCapSpansTypesAndRunners() throws {
        try insertJobs(5, user: "user-a", type: "generate-image")
        try insertJobs(5, user: "user-a", type: "generate-aplus")
        try insertJobs(2, user: "user-b", type: "generate-image")
        let types = ["generate-image", "generate-aplus"]
        try routeRows(types)
        let first = try store("host:1"), second = try store("host:2")
        let taken = try first.tick(outcomes: [], claim: claim(quota: 5, fairBy: .user, userConcurrency: 2, types: types))
        let users = try taken.claimed.map { try db.query("SELECT user_id FROM job_queue WHERE id = $1", [$0.id]).values[0][0]! }
        XCTAssertEqual(users.filter { $0 == "user-a" }.count, 2, "at most 2 of user A across both types: \(users)")
        XCTAssertEqual(users.filter { $0 == "user-b" }.count, 2)

        let capped = try second.tick(outcomes: [], claim: claim(quota: 5, fairBy: .user, userConcurrency: 2, types: types))
        XCTAssertEqual(capped.claimed.count, 0, "another runner counts the same live leases")
        XCTAssertEqual(Set(capped.holds.map(\.reason)), [.userCap])
        XCTAssertTrue(capped.holds.allSatisfy { $0.nextIn == nil && $0.held > 0 })

        // Plain order honours the cap too.
        let plain = try second.tick(outcomes: [], claim: claim(quota: 5, fairBy: .none, userConcurrency: 2, types: types))
        XCTAssertEqual(plain.claimed.count, 0)
        _ = try first.tick(outcomes: complete(taken.claimed), claim: nil)
        XCTAssertEqual(try second.tick(outcomes: [], claim: claim(quota: 5, fairBy: .none, userConcurrency: 2, types: types))
            .claimed.count, 2, "once user A's leases end, two more of A's")
    }

    /// Four claimers race under --user-concurrency 2, round after round: no user ever holds more
    /// than 2 leases (as above, leases end only between rounds).
    func testUserCapIsNeverExceededAcrossConcurrentClaimers() throws {
        for user in 0..<4 { try insertJobs(30, user: "user-\(user)") }
        var claimers = Set<Int>(), most = 0
        for _ in 0..<5 {
            let results = try claimConcurrently(claimers: 4, seconds: 0.4, holdTicks: .max,
                                                claim: claim(quota: 3, fairBy: .user, userConcurrency: 2))
            claimers.formUnion(results.claimersThatTook)
            let counts = try db.query("SELECT user_id, count(*) FROM job_queue WHERE status = 'processing' GROUP BY user_id")
                .values.map { ($0[0] ?? "", Int($0[1] ?? "") ?? 0) }
            for (user, leases) in counts { XCTAssertLessThanOrEqual(leases, 2, "live leases of \(user)") }
            most = max(most, counts.map(\.1).max() ?? 0)
            try db.query("UPDATE job_queue SET status = 'completed', completed_at = now(), locked_until = NULL WHERE status = 'processing'")
        }
        XCTAssertEqual(most, 2, "the cap was reached")
        XCTAssertGreaterThan(claimers.count, 1, "more than one claimer took part")
    }

    // MARK: Cancel

    func testACancelledJobsOutcomeNeverSchedulesARetry() throws {
        try insertJobs(3, user: nil)
        let runner = try store("host:1")
        let jobs = try runner.tick(outcomes: [], claim: claim()).claimed
        XCTAssertEqual(jobs.count, 3)
        let operatorStore = OperatorStore(connection: db)
        XCTAssertEqual(try operatorStore.cancel(ids: jobs.map(\.id)).map(\.statusBefore), jobs.map { _ in "processing" }.sorted())
        let result = try runner.tick(outcomes: [
            PendingOutcome(job: jobs[0], outcome: .retry(error: "HTTP 500", delay: 1)),
            PendingOutcome(job: jobs[1], outcome: .release(delay: nil)),
            PendingOutcome(job: jobs[2], outcome: .complete(result: nil)),
        ], claim: nil)
        XCTAssertEqual(Set(result.recorded.map(\.status)), ["failed", "completed"])
        XCTAssertEqual(try db.job(jobs[0].id).status, "failed")
        XCTAssertEqual(try db.job(jobs[0].id).errorMessage, "cancelled by operator")
        XCTAssertEqual(try db.job(jobs[0].id).retryCount, 0, "no retry granted")
        XCTAssertEqual(try db.job(jobs[1].id).errorMessage, "cancelled by operator")
        XCTAssertEqual(try db.job(jobs[2].id).status, "completed", "an answer that came is recorded")
    }

    func testARescuedCancelledLeaseFails() throws {
        try insertJobs(1, user: nil)
        let job = try XCTUnwrap(try store("dead:1").tick(outcomes: [], claim: claim()).claimed.first)
        _ = try OperatorStore(connection: db).cancel(ids: [job.id])
        try db.query("UPDATE job_queue SET locked_until = now() - interval '1 second'")
        let rescued = try store("host:2").tick(outcomes: [], claim: .init(limit: 1, quotas: [(type, 1)], lease: 60, rescue: true))
        XCTAssertEqual(rescued.rescued.map(\.status), ["failed"])
        XCTAssertEqual(try db.job(job.id).errorMessage, "cancelled by operator")
    }

    // MARK: Schema version

    func testProbeReadsTheSchemaVersionAndFailsWithoutItsTable() throws {
        let runner = try store("host:1")
        XCTAssertEqual(try runner.probe(types: [type], lease: 60), JobStore.Probe(hasWork: false, schemaVersion: SchemaVersion.current))
        try insertJobs(1, user: nil)
        XCTAssertTrue(try runner.probe(types: [type], lease: 60).hasWork)
        try db.query("UPDATE process_jobs.schema_version SET version = 99")
        XCTAssertEqual(SchemaVersion.check(found: try runner.probe(types: [type], lease: 60).schemaVersion),
                       .newer(found: 99, known: SchemaVersion.current))
        try db.query("DROP TABLE process_jobs.schema_version")
        XCTAssertThrowsError(try runner.probe(types: [type], lease: 60)) { error in
            XCTAssertEqual((error as? PostgresError)?.sqlState, "42P01")
        }
        XCTAssertEqual(try Migration.missing(on: db), ["process_jobs.schema_version"])
        try db.execute(script: Migration.sql)
        try db.execute(script: Migration.sql)
        XCTAssertEqual(try Migration.missing(on: db), [], "the migration, run twice, puts it back")
        XCTAssertEqual(try runner.probe(types: [type], lease: 60).schemaVersion, SchemaVersion.current)
    }

    func testAnOlderRecordedVersionIsMissingForMigrate() throws {
        try db.query("UPDATE process_jobs.schema_version SET version = 2")
        XCTAssertEqual(try Migration.missing(on: db), ["schema version"])
        XCTAssertEqual(try Migration.apply(on: db).changes, ["schema version"])
        XCTAssertEqual(try db.query("SELECT version FROM process_jobs.schema_version").values[0][0], String(SchemaVersion.current))
        XCTAssertEqual(try Migration.apply(on: db).changes, [], "idempotent")
    }

    // MARK: Concurrent claimers

    private final class Tally: @unchecked Sendable {
        private let lock = NSLock()
        private var claimers: Set<Int> = []
        private var errors: [String] = []

        func took(_ claimer: Int) { lock.withLock { _ = claimers.insert(claimer) } }
        func failed(_ error: String) { lock.withLock { errors.append(error) } }
        var result: (claimersThatTook: Set<Int>, errors: [String]) { lock.withLock { (claimers, errors) } }
    }

    /// `claimers` threads, each on its own connection, tick for `seconds`: each completes the jobs
    /// it claimed `holdTicks` ticks earlier (so leases overlap) and claims again; at the end, the
    /// rest (none with `holdTicks` .max: every lease is left live).
    private func claimConcurrently(claimers: Int, seconds: Double, holdTicks: Int = 1,
                                   claim: JobStore.Claim) throws -> (claimersThatTook: Set<Int>, errors: [String]) {
        let url = databaseURL
        let tally = Tally()
        let deadline = Date().addingTimeInterval(seconds)
        DispatchQueue.concurrentPerform(iterations: claimers) { claimer in
            do {
                let store = JobStore(connection: try Connection(conninfo: url), lockedBy: "claimer:\(claimer)")
                var held: [[ClaimedJob]] = []
                while Date() < deadline {
                    let finishing = held.count >= holdTicks ? held.removeFirst() : []
                    let result = try store.tick(outcomes: finishing.map { PendingOutcome(job: $0, outcome: .complete(result: nil)) },
                                                claim: claim)
                    if !result.claimed.isEmpty { tally.took(claimer) }
                    held.append(result.claimed)
                }
                if holdTicks < .max {
                    _ = try store.tick(outcomes: held.joined().map { PendingOutcome(job: $0, outcome: .complete(result: nil)) }, claim: nil)
                }
            } catch {
                tally.failed("claimer \(claimer): \(error)")
            }
        }
        let result = tally.result
        XCTAssertEqual(result.errors, [])
        return result
    }
}
