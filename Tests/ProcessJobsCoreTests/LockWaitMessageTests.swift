import XCTest
@testable import ProcessJobsCore

final class LockWaitMessageTests: XCTestCase {
    func testNamesEachHolderOnOneLine() {
        let holders = [
            LockHolder(pid: "4242", user: "postgres", application: "psql", state: "idle in transaction", seconds: 754,
                       query: "SELECT *\n  FROM job_queue\tWHERE \u{1b}[2J status = 'pending'"),
            LockHolder(pid: "4243", user: "app", application: "", state: "active", seconds: 0.2, query: "INSERT INTO job_queue (job_type) VALUES ($1)"),
        ]
        XCTAssertEqual(LockWaitMessage.text(holders, waited: "5s"),
                       "migrate waited 5s for a lock on job_queue and gave up; nothing was changed. Held by pid 4242, user postgres, application psql, idle in transaction for 13m: SELECT * FROM job_queue WHERE \\u{1b}[2J status = 'pending'; pid 4243, user app, active: INSERT INTO job_queue (job_type) VALUES ($1). Run migrate again once that is done, or end it with select pg_terminate_backend(4242)")
    }

    func testAHolderThatIsGoneAndALongQuery() {
        XCTAssertTrue(LockWaitMessage.text([], waited: "5s").contains("The session that held it has ended"))
        let long = LockWaitMessage.oneLine(String(repeating: "x", count: 500))
        XCTAssertEqual(long.count, 120)
        XCTAssertTrue(long.hasSuffix("…"))
    }
}
