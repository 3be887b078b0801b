import CurlTransport
import Foundation
import Logging
import PostgresClient
@testable import ProcessJobsCore
import XCTest

/// The engine's side of flow control with the real database and app: the flags refused in one
/// line, every claim carrying the route limits, and the driver acting on the holds a tick reports
/// (waiting for a rate slot, or ending `rate_limited`). The holds come from a store that adds
/// them to the real tick's result, so these tests do not depend on how the tick computes them.
final class FlowControlEngineTests: IntegrationTestCase {
    /// The real JobStore, with holds added to the first `holdFirst` claims' results, and every
    /// claim and pause it was given kept for the test to read.
    private final class HoldingStore: TickStore {
        let store: JobStore
        let hold: RouteHold
        var holdFirst: Int
        var claims: [JobStore.Claim] = []
        var claimTimes: [Date] = []
        private var claimOut = false

        init(store: JobStore, hold: RouteHold, holdFirst: Int) {
            self.store = store
            self.hold = hold
            self.holdFirst = holdFirst
        }

        func probe(types: [String], lease: Double) throws(PostgresError) -> JobStore.Probe { try store.probe(types: types, lease: lease) }

        func beginTick(outcomes: [PendingOutcome], claim: JobStore.Claim?, pauses: [RoutePause]) throws(PostgresError) {
            var sent = claim
            claimOut = claim != nil
            if let claim {
                claims.append(claim)
                claimTimes.append(Date())
                // A held route's jobs are not claimed: the real tick is asked for none of them.
                if holdFirst > 0 { sent?.quotas = claim.quotas.filter { $0.type != hold.type } }
            }
            try store.beginTick(outcomes: outcomes, claim: sent, pauses: pauses)
        }

        func pollTick() throws(PostgresError) -> JobStore.TickResult? {
            guard var result = try store.pollTick() else { return nil }
            if claimOut && holdFirst > 0 {
                holdFirst -= 1
                result.holds.append(hold)
            }
            return result
        }

        func body(of job: ClaimedJob) throws(PostgresError) -> String? { try store.body(of: job) }
        var socket: Int32 { store.socket }
        var secondsLeft: Double? { store.secondsLeft }
        var roundTrips: Int { store.roundTrips }
    }

    private func run(_ store: HoldingStore, app: TestApp, configure: (inout RunSettings) -> Void) throws -> RunReport {
        var settings = RunSettings()
        settings.seed = 42
        configure(&settings)
        let targets = Dictionary(uniqueKeysWithValues: Routes.defaults.map { ($0.key, app.url + $0.value) })
        let transport = CurlTransport(options: .init(requestTimeout: settings.requestTimeout, maxConnections: settings.concurrency),
                                      wakeDescriptor: nil)
        return try Runner(store: store, transport: transport, settings: settings, targets: targets,
                          credentials: Credentials(appToken: try Token.check("test-token", source: "test")), stop: nil,
                          log: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })).run()
    }

    private func holdingStore(nextIn: Double, holdFirst: Int = 1) throws -> HoldingStore {
        HoldingStore(store: JobStore(connection: try Connection(conninfo: databaseURL), lockedBy: "test-host:1"),
                     hold: RouteHold(type: "generate-image", reason: .rate, held: 3, nextIn: nextIn), holdFirst: holdFirst)
    }

    func testARunWhoseOnlyWorkIsHeldWaitsForTheSlotThenCompletesIt() throws {
        let app = try startApp()
        try db.insertJobs("generate-image", count: 3)
        let store = try holdingStore(nextIn: 1.5)
        // Limits loose enough that the real tick holds nothing: the only hold is the one added above.
        let limits = ["generate-image": RouteLimits(rate: RouteRate(count: 100, period: 1, burst: 100), concurrency: 10)]
        let report = try run(store, app: app) {
            $0.maxRuntime = 30
            $0.limits = limits
            $0.userConcurrency = 5
        }
        XCTAssertEqual(report.stopReason, .drained)
        XCTAssertEqual(report.summary.completed, 3)
        XCTAssertEqual(try db.count(where: "status = 'completed'"), 3)
        XCTAssertEqual(report.summary.held["generate-image"]?[.rate], 3)
        let times = store.claimTimes
        XCTAssertGreaterThanOrEqual(times.count, 2)
        XCTAssertGreaterThanOrEqual(times[1].timeIntervalSince(times[0]), 1.4, "the second claim waited for the slot")
        for claim in store.claims {
            XCTAssertEqual(claim.limits, limits)
            XCTAssertEqual(claim.fairBy, .user)
            XCTAssertEqual(claim.userConcurrency, 5)
        }
    }

    func testASlotAfterMaxRuntimeEndsTheRunRateLimitedWithJobsUntouched() throws {
        let app = try startApp()
        try db.insertJobs("generate-image", count: 2)
        let before = try db.query("SELECT id, status, run_at::text, retry_count, updated_at::text FROM job_queue ORDER BY id").values
        let store = try holdingStore(nextIn: 120)
        let report = try run(store, app: app) { $0.maxRuntime = 5 }
        guard case .rateLimited(let nextDueIn) = report.stopReason else { return XCTFail("\(report.stopReason)") }
        XCTAssertEqual(nextDueIn, 120, accuracy: 1)
        XCTAssertEqual(store.claims.count, 1, "no waiting past --max-runtime")
        XCTAssertEqual(try db.query("SELECT id, status, run_at::text, retry_count, updated_at::text FROM job_queue ORDER BY id").values,
                       before, "held jobs untouched")
        XCTAssertTrue(try app.requests().isEmpty)
    }

    func testTheFlowFlagsAreAcceptedAndTheRunDrains() throws {
        // Through the binary. The tick statement on this branch holds nothing back, so the run
        // drains; the held cases are the test above's and the scheduler's unit tests'.
        let app = try startApp()
        try db.insertJobs("generate-image", count: 2)
        let result = try runBinary(["run", "--route-rate", "generate-image=30/1m", "--route-burst", "generate-image=2",
                                    "--route-concurrency", "generate-image=2", "--fair-by", "none", "--user-concurrency", "3",
                                    "--log-format", "json"], environment: environment(app: app))
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stderr.contains(#""stop":"drained""#), result.stderr)
        XCTAssertEqual(try db.count(where: "status = 'completed'"), 2)
    }

    func testBadFlowFlagsAreRefusedInOneLineBeforeAnythingIsClaimed() throws {
        try db.insertJob("generate-image")
        let cases: [(arguments: [String], mentions: String)] = [
            (["--route-rate", "generate-image=0/1m"], "--route-rate"),
            (["--route-rate", "generate-image=30"], "TYPE=N/DURATION"),
            (["--route-rate", "generate-image=30/soon"], "--route-rate generate-image"),
            (["--route-rate", "nowhere=30/1m"], "no such route"),
            (["--route-burst", "generate-image=2"], "no --route-rate for generate-image"),
            (["--route-rate", "generate-image=30/1m", "--route-burst", "generate-image=0"], "--route-burst"),
            (["--fair-by", "tenant"], "--fair-by"),
            (["--user-concurrency", "0"], "--user-concurrency"),
        ]
        for (arguments, mentions) in cases {
            let result = try runBinary(["run"] + arguments, environment: environment(app: nil))
            XCTAssertEqual(result.status, 64, "\(arguments): \(result.stderr)")
            XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, result.stderr)
            XCTAssertTrue(result.stderr.contains(mentions), "\(arguments): \(result.stderr)")
        }
        XCTAssertEqual(try db.count(where: "status = 'pending' AND processed_at IS NULL"), 1, "nothing claimed")
    }
}
