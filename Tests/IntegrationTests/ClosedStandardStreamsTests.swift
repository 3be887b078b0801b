import Foundation
import PostgresClient
@testable import ProcessJobsCore
import XCTest

/// A run started with stderr (or stdin/stdout) closed: descriptors 0-2 must not become the
/// database socket, or log lines would be written into the PostgreSQL protocol stream.
final class ClosedStandardStreamsTests: IntegrationTestCase {
    func testRunWithStderrClosedWorksAndTheDatabaseStaysSane() throws {
        let app = try startApp()
        try db.insertJobs("generate-image", count: 20)
        // exec so the binary itself starts with fd 2 (and, in the second case, 0 and 1) closed.
        for redirections in ["2>&-", "0<&- 1>&- 2>&-"] {
            let result = try shell("/bin/sh", ["-c", "exec \"$0\" run --log-level debug \(redirections)", Paths.binary],
                                   environment: binaryEnvironment(environment(app: app)), timeout: 60)
            XCTAssertEqual(result.status, 0, "\(redirections): \(result.stderr)")
        }
        XCTAssertEqual(try db.count(where: "status = 'completed'"), 20)
        XCTAssertEqual(try db.count(where: "status <> 'completed' OR error_message IS NOT NULL"), 0)
        let status = try runBinary(["status"], environment: environment(app: app))
        XCTAssertEqual(status.status, 0, status.stderr)
    }
}
