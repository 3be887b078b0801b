import XCTest
@testable import ProcessJobsCore

final class JobStoreTests: XCTestCase {
    func testPostgresArrayLiteral() {
        let cases: [(items: [String], literal: String)] = [
            ([], "{}"),
            ([""], #"{""}"#),
            (["a"], #"{"a"}"#),
            (["generate-image", "generate-aplus"], #"{"generate-image","generate-aplus"}"#),
            (["a\"b"], #"{"a\"b"}"#),
            (["a\\b"], #"{"a\\b"}"#),
            (["\\\""], #"{"\\\""}"#),
            (["a,b", "{c}", " d ", "NULL"], #"{"a,b","{c}"," d ","NULL"}"#),
            (["10", "2"], #"{"10","2"}"#),
            (["é"], #"{"é"}"#),
        ]
        for (items, literal) in cases {
            XCTAssertEqual(PostgresArray.literal(items), literal, "\(items)")
        }
    }

    func testNilItemsAreNullElements() {
        XCTAssertEqual(PostgresArray.literal([nil, "1.5", nil] as [String?]), #"{NULL,"1.5",NULL}"#)
        XCTAssertEqual(PostgresArray.literal(["NULL"] as [String?]), #"{"NULL"}"#, "the text NULL stays text")
    }

    /// $16-$23 of the tick: one element per claimed type, in the order of the quotas.
    func testFlowParametersFollowTheQuotas() {
        let claim = JobStore.Claim(limit: 10, quotas: [("a", 5), ("b", 5), ("c", 5)], lease: 60, rescue: false,
                                   limits: ["a": RouteLimits(rate: RouteRate(count: 30, period: 60, burst: 3)),
                                            "c": RouteLimits(concurrency: 4)],
                                   fairBy: .user, userConcurrency: 2)
        let pauses = [RoutePause(type: "b", seconds: 5, reason: "HTTP 429 from the app")]
        XCTAssertEqual(JobStore.flowParameters(claim: claim, pauses: pauses), [
            #"{"2.0",NULL,NULL}"#, #"{"3",NULL,NULL}"#, #"{NULL,NULL,"4"}"#, "true", "2",
            #"{"b"}"#, #"{"5.0"}"#, #"{"HTTP 429 from the app"}"#,
        ])
        XCTAssertEqual(JobStore.flowParameters(claim: nil, pauses: []), ["{}", "{}", "{}", "false", nil, "{}", "{}", "{}"],
                       "a tick without a claim limits nothing")
    }

    /// The statements travel in the client encoding of any database, LATIN1 and SQL_ASCII too:
    /// their text (comments included) must be ASCII.
    func testTheRunsStatementsAreASCII() {
        for statement in TickShape.allCases.map { Queries.tick($0, .jobQueue) } + [Queries.probe(.jobQueue), Queries.cancelJobs(.jobQueue), Queries.pauseRoute, Queries.resumeRoute,
                          Queries.routeStates(.jobQueue), Queries.topDueUsers(.jobQueue), Migration.sql] {
            XCTAssertTrue(statement.unicodeScalars.allSatisfy(\.isASCII), String(statement.prefix(80)))
        }
    }

    /// Each shape's statement numbers its parameters $1...$k with none left out (the server
    /// must type every parameter it is sent), and holds only its parts.
    func testEachTickShapeSendsOnlyItsPartsAndParameters() {
        for shape in TickShape.allCases {
            let statement = CompactStatement(Queries.tick(shape, .jobQueue))
            XCTAssertEqual(CompactStatement(statement.sql).used, Array(1..<statement.used.count + 1), "\(shape)")
            XCTAssertEqual(statement.sql.contains("recorded AS ("), shape.outcomes, "\(shape)")
            XCTAssertEqual(statement.sql.contains("expired AS"), shape.rescue, "\(shape)")
            XCTAssertEqual(statement.sql.contains("notified AS ("), shape.failureJobs, "\(shape)")
            XCTAssertEqual(statement.sql.contains("pause_written AS ("), shape.pauses, "\(shape)")
            XCTAssertEqual(statement.sql.contains("claimed AS ("), shape.claim, "\(shape)")
            XCTAssertEqual(statement.sql.contains("fair_user"), shape.fair, "\(shape)")
            XCTAssertEqual(statement.sql.contains("user_room"), shape.userCap, "\(shape)")
            XCTAssertEqual(statement.sql.contains("owned AS"), shape.coordinated, "\(shape)")
        }
        let plain = TickShape(outcomes: true, claim: true)
        XCTAssertEqual(CompactStatement(Queries.tick(plain, .jobQueue)).used, [1, 2, 3, 4, 5, 6, 8, 9, 10, 11],
                       "outcomes, holder, the claim's limit, types, quotas, lease and the body walk's four")
    }

    func testACompactStatementRenumbersInOrderAndPicksItsValues() {
        let statement = CompactStatement("SELECT $3::int, $12, $3 + $7")
        XCTAssertEqual(statement.sql, "SELECT $1::int, $3, $1 + $2")
        XCTAssertEqual(statement.used, [3, 7, 12])
        let values: [String?] = (1...12).map { "v\($0)" }
        XCTAssertEqual(statement.parameters(values), ["v3", "v7", "v12"])
        XCTAssertEqual(CompactStatement("SELECT '$' || $1").sql, "SELECT '$' || $1", "a $ without digits stays")
    }
}
