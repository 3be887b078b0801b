import XCTest
@testable import ProcessJobsCore

final class OperatorQueriesTests: XCTestCase {
    /// Every parameter a statement is sent with must appear in it ($1..$n, no gaps), or
    /// PostgreSQL cannot infer its type.
    func testEnqueueVariantsNumberTheirParametersWithoutGaps() {
        let variants: [(Bool, RunAt.Kind?, Int)] = [(false, nil, 3), (true, nil, 4), (false, .absolute, 4), (true, .relative, 5)]
        for (maxRetries, runAt, count) in variants {
            let sql = Queries.enqueue(maxRetries: maxRetries, runAt: runAt)
            for n in 1...count { XCTAssertTrue(sql.contains("$\(n)"), "\(sql) lacks $\(n)") }
            XCTAssertFalse(sql.contains("$\(count + 1)"), sql)
            XCTAssertEqual(sql.contains("max_retries"), maxRetries, sql)
            XCTAssertEqual(sql.contains("run_at"), runAt != nil, sql)
        }
        XCTAssertTrue(Queries.enqueue(maxRetries: false, runAt: .relative).contains("now() + make_interval(secs => $4::float8)"))
        XCTAssertTrue(Queries.enqueue(maxRetries: true, runAt: .absolute).contains("to_timestamp($5::float8)"))
    }

    func testWritesNeverTouchProcessingRows() {
        XCTAssertTrue(Queries.retryJobs(.jobQueue).contains("j.status IN ('failed', 'pending')"))
        XCTAssertTrue(Queries.retryFailed(.jobQueue).contains("WHERE status = 'failed'"))
        XCTAssertTrue(Queries.pruneChunk(.jobQueue).contains("FOR UPDATE SKIP LOCKED"))
        XCTAssertTrue(Queries.pruneChunk(.jobQueue).contains("LIMIT $2"))
        XCTAssertTrue(Queries.pruneChunk(.jobQueue).contains("j.status IN ('completed', 'failed')"), "re-checked on the locked row")
    }
}
