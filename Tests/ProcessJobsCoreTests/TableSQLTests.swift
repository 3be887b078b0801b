@testable import ProcessJobsCore
import XCTest

final class TableSQLTests: XCTestCase {
    /// FNV-1a (64 bits) of the texts, each followed by a NUL.
    private func digest(_ texts: [String]) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for text in texts {
            for byte in text.utf8 + [0] {
                hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3
            }
        }
        return String(hash, radix: 16)
    }

    /// Without a profile every statement is the text the release before profiles sent, byte for
    /// byte, for every tick shape (the digests were taken from that release's Queries.swift; a
    /// deliberate change of job_queue's statements takes new ones).
    func testJobQueueStatementsAreTheReleasedOnes() {
        XCTAssertEqual(digest(TickShape.allCases.map { Queries.tick($0, .jobQueue) }), "f69826d3fc65e193")
        XCTAssertEqual(digest([Queries.probe(.jobQueue), Queries.smallBody(.jobQueue), Queries.bodyChunks(.jobQueue)]),
                       "1405d9669232341f")
        XCTAssertEqual(digest([Queries.queueSummary(.jobQueue), Queries.dueJobs(.jobQueue)]), "e1359d1926a8c2ed",
                       "the dry run's and status's reads too")
        XCTAssertEqual(digest([Queries.pruneChunk(.jobQueue)]), "443cc8e0ecb98")
        XCTAssertEqual(digest([Queries.expiredLeases(.jobQueue), Queries.topErrors(.jobQueue), Queries.recentFailures(.jobQueue),
                               Queries.routeStates(.jobQueue), Queries.topDueUsers(.jobQueue)]), "e4ee3148ce224428", "status's")
        XCTAssertEqual(digest([Queries.retryJobs(.jobQueue), Queries.retryFailed(.jobQueue)]), "efce4feb54208be6", "retry's")
        XCTAssertEqual(digest([Queries.cancelJobs(.jobQueue)]), "58e8baac54f35482", "cancel's")
        XCTAssertEqual(digest([ListenQueries.trigger]), "ef498d869db97655", "listen mode's triggers on job_queue (UPDATE row-level since 2026-12-02)")
    }

    private static let documentColumns: [ProfileCatalog.Column] = [
        .init(name: "job_id", type: "uuid"), .init(name: "status", type: "text"), .init(name: "prompt", type: "text"),
        .init(name: "html", type: "text"), .init(name: "project_id", type: "text"), .init(name: "error", type: "text"),
        .init(name: "result", type: "jsonb"), .init(name: "created_at", type: "timestamp with time zone"),
        .init(name: "updated_at", type: "timestamp with time zone"),
    ] + added

    private static let added: [ProfileCatalog.Column] = [
        .init(name: "run_at", type: "timestamp with time zone"), .init(name: "locked_until", type: "timestamp with time zone"),
        .init(name: "locked_by", type: "text"), .init(name: "locked_at", type: "timestamp with time zone"),
        .init(name: "retry_count", type: "integer"), .init(name: "max_retries", type: "integer"),
        .init(name: "cancelled_at", type: "timestamp with time zone"),
    ]

    private func profile(_ file: String) throws -> TableProfile {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("deploy/profiles/\(file).json")
        return try TableProfile.decode(Array(try Data(contentsOf: url)), source: file)
    }

    func testDocumentJobsStatementsQuoteNamesAndBuildThePayload() throws {
        let table = try TableSQL.make(try profile("document_jobs"), catalog: .init(columns: Self.documentColumns)).get()
        let tick = Queries.tick(TickShape(outcomes: true, claim: true, rescue: true, failureJobs: true), table)
        XCTAssertTrue(tick.contains("UPDATE \"document_jobs\" j SET"))
        XCTAssertTrue(tick.contains("jsonb_build_object('prompt', q.\"prompt\", 'project_id', q.\"project_id\")"))
        XCTAssertTrue(tick.contains("'document'::text AS job_type"))
        XCTAssertTrue(tick.contains("\"html\" = CASE WHEN o.action = 'complete' AND o.result ? 'html' THEN o.result->>'html' ELSE j.\"html\" END"))
        XCTAssertTrue(tick.contains("INSERT INTO job_queue (job_type, payload, user_id)"), "failure jobs go to job_queue")
        XCTAssertTrue(tick.contains("NULL::text AS user_id") || tick.contains("NULL::text, ''"), "no user column")
        XCTAssertFalse(tick.contains("job_queue j") || tick.contains("job_queue q"))
        XCTAssertTrue(Queries.probe(table).contains("FROM \"document_jobs\""))
    }

    func testEnumWordsAreCastAndEpochMillisecondsConverted() throws {
        let jobsColumns: [ProfileCatalog.Column] = [
            .init(name: "id", type: "uuid"), .init(name: "user_id", type: "uuid"), .init(name: "agent_identifier", type: "text"),
            .init(name: "status", type: "job_status", enumLabels: ["pending", "running", "completed", "failed", "cancelled"]),
            .init(name: "job_data", type: "jsonb"), .init(name: "result", type: "jsonb"), .init(name: "error_message", type: "text"),
            .init(name: "created_at", type: "timestamp with time zone"), .init(name: "updated_at", type: "timestamp with time zone"),
            .init(name: "started_at", type: "timestamp with time zone"), .init(name: "completed_at", type: "timestamp with time zone"),
        ] + Self.added
        let jobs = try TableSQL.make(try profile("jobs"), catalog: .init(columns: jobsColumns)).get()
        let tick = Queries.tick(TickShape(outcomes: true, claim: true, rescue: true), jobs)
        XCTAssertTrue(tick.contains("\"status\" = 'running'::job_status"))
        XCTAssertTrue(tick.contains("q.\"user_id\"::text"), "uuid users are read as text")
        XCTAssertTrue(tick.contains("\"started_at\" = now()"))

        let operationsColumns: [ProfileCatalog.Column] = [
            .init(name: "id", type: "text"), .init(name: "status", type: "text"), .init(name: "message", type: "text"),
            .init(name: "result", type: "jsonb"), .init(name: "error", type: "text"), .init(name: "metadata", type: "jsonb"),
            .init(name: "created_at", type: "bigint"), .init(name: "updated_at", type: "bigint"),
        ] + Self.added
        let operations = try TableSQL.make(try profile("operations"), catalog: .init(columns: operationsColumns)).get()
        let opsTick = Queries.tick(TickShape(outcomes: true, claim: true, rescue: true), operations)
        XCTAssertTrue(opsTick.contains("\"updated_at\" = (extract(epoch FROM now()) * 1000)::bigint"))
        XCTAssertTrue(opsTick.contains("to_timestamp(q.\"created_at\" / 1000.0)"))
        XCTAssertTrue(opsTick.contains("'complete'"), "the table's own word")
    }

    func testWhatTheStatementsCannotServeIsAOneLineError() throws {
        let document = try profile("document_jobs")
        func problem(_ columns: [ProfileCatalog.Column], _ profile: TableProfile) -> String? {
            if case .failure(.configuration(let message)) = TableSQL.make(profile, catalog: .init(columns: columns)) { return message }
            return nil
        }
        XCTAssertEqual(problem(Self.documentColumns.filter { $0.name != "locked_until" }, document),
                       "table profile: document_jobs has no column locked_until (run process-jobs migrate --table-profile FILE)")
        var dollar = document
        dollar.jobType = .fixed("doc$1")
        XCTAssertEqual(problem(Self.documentColumns, dollar),
                       "table profile: \"doc$1\" contains $ or \\, which process-jobs does not accept in a name or word")
        var intoNumber = document
        intoNumber.resultColumns = ["pages": "created_at"]
        XCTAssertEqual(problem(Self.documentColumns, intoNumber),
                       "table profile: resultColumns pages goes to created_at, which is timestamp with time zone; it must be text or jsonb")
        var quote = document
        quote.status.pending = "it's due"
        XCTAssertNil(problem(Self.documentColumns, quote))
        XCTAssertTrue(Queries.tick(TickShape(outcomes: false, claim: true), try TableSQL.make(quote, catalog: .init(columns: Self.documentColumns)).get())
            .contains("'it''s due'"))
    }

    /// job_queue keeps the released channel; each profile's table has its own, named for it and
    /// within the 63 bytes a channel may have, however long the table's name.
    func testEachTableHasItsOwnChannel() throws {
        XCTAssertEqual(TableSQL.jobQueue.channel, "process_jobs")
        XCTAssertEqual(TableSQL.unchecked(try profile("jobs")).channel, "process_jobs:jobs")
        var long = try profile("jobs")
        long.table = "app_schema." + String(repeating: "é", count: 31)
        let channel = TableSQL.unchecked(long).channel
        XCTAssertLessThanOrEqual(channel.utf8.count, 63)
        XCTAssertEqual(channel, "process_jobs:" + String(repeating: "é", count: 20))
    }

    /// The notify triggers, as job_queue's, for the profile's quoted names and words: a word
    /// compared untyped (the column's own type, enum or text), the table's channel; the UPDATE's
    /// row-level, its WHEN deciding before any call.
    func testTheNotifyTriggerIsWrittenForTheProfile() throws {
        var profile = try profile("jobs")
        profile.table = "app.Agent Jobs"
        profile.status.pending = "it's due"
        let t = TableSQL.unchecked(profile)
        let inserted = ProfileNotifyTrigger.inserted(t)
        XCTAssertTrue(inserted.body.contains(#"FROM new_jobs n WHERE n."status" = 'it''s due' AND n."run_at" <= now()"#), inserted.body)
        XCTAssertTrue(inserted.body.contains("pg_notify('process_jobs:Agent Jobs', 'later')"), inserted.body)
        XCTAssertEqual(inserted.reference, #""app"."Agent Jobs_pj_notify_due""#)
        XCTAssertTrue(ProfileNotifyTrigger.dueAgain(t).body.contains("pg_notify('process_jobs:Agent Jobs', '')"))
        let sql = ProfileMigration.sql(profile)
        XCTAssertTrue(sql.contains(#"CREATE TRIGGER "Agent Jobs_pj_notify_due_again" AFTER UPDATE ON "app"."Agent Jobs" FOR EACH ROW "#
                                   + #"WHEN (NEW."status" = 'it''s due' AND NEW."run_at" <= now() "#
                                   + #"AND NOT coalesce(OLD."status" = 'it''s due' AND OLD."run_at" <= now(), false))"#), sql)
        XCTAssertTrue(sql.contains(#"DROP TRIGGER "Agent Jobs_pj_notify_updated" ON "app"."Agent Jobs";"#), sql)
        XCTAssertTrue(sql.contains("to_regclass('\"app\".\"Agent Jobs\"') AND tgname = 'Agent Jobs_pj_notify_inserted'"), sql)
    }

    /// enqueue's id: the table's default when it has one, else a uuid (as text for a text id),
    /// else nothing it can make.
    func testEnqueueMakesAnIdOnlyWhereTheTableDoesNot() throws {
        let operations = try profile("operations")
        func newID(_ type: String, default hasDefault: Bool = false) throws -> TableSQL.NewID {
            let columns: [ProfileCatalog.Column] = [
                .init(name: "id", type: type, hasDefault: hasDefault), .init(name: "status", type: "text"),
                .init(name: "message", type: "text"), .init(name: "result", type: "jsonb"), .init(name: "error", type: "text"),
                .init(name: "metadata", type: "jsonb"), .init(name: "created_at", type: "bigint"), .init(name: "updated_at", type: "bigint"),
            ] + Self.added
            return try TableSQL.make(operations, catalog: .init(columns: columns)).get().newID
        }
        XCTAssertEqual(try newID("text"), .generated("gen_random_uuid()::text"))
        XCTAssertEqual(try newID("uuid"), .generated("gen_random_uuid()"))
        XCTAssertEqual(try newID("character varying(36)"), .generated("gen_random_uuid()::text"))
        XCTAssertEqual(try newID("character varying(20)"), .cannotGenerate, "a uuid does not fit")
        XCTAssertEqual(try newID("integer"), .cannotGenerate)
        XCTAssertEqual(try newID("integer", default: true), .tableDefault)
        XCTAssertEqual(TableSQL.jobQueue.newID, .tableDefault)
        let columns: [ProfileCatalog.Column] = [
            .init(name: "id", type: "text"), .init(name: "status", type: "text"), .init(name: "message", type: "text"),
            .init(name: "result", type: "jsonb"), .init(name: "error", type: "text"), .init(name: "metadata", type: "jsonb"),
            .init(name: "created_at", type: "bigint"), .init(name: "updated_at", type: "bigint"),
        ] + Self.added
        let insert = Queries.enqueue(try TableSQL.make(operations, catalog: .init(columns: columns)).get(), maxRetries: false, runAt: nil)
        XCTAssertTrue(insert.hasPrefix(#"INSERT INTO "operations" ("id", "message", "metadata", "status", "created_at", "updated_at") VALUES (gen_random_uuid()::text, "#), insert)
    }
}
