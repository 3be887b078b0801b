import Foundation
import PostgresClient
@testable import ProcessJobsCore
import XCTest

/// The database password is never printed: not in libpq's errors that echo the connection
/// string, and never taken from --database-url (it would sit in `ps` for the whole run).
final class DatabasePasswordTests: IntegrationTestCase {
    func testMalformedURLsDoNotPrintThePassword() throws {
        let port = URLComponents(string: databaseURL)?.port ?? 5432
        let urls = [
            "postgresql://postgres:Sup3r%ZZsecret@127.0.0.1:\(port)/postgres",       // a bad % escape
            "postgresql://postgres:Sup3rZZsecret@[::1:\(port)/postgres",            // an unterminated [ host
            "postgresql://postgres:Sup3r@ZZsecret@127.0.0.1:\(port)/postgres",       // an unencoded @
            "host='127.0.0.1 password=Sup3rZZsecret",                                // an unterminated quote
        ]
        for url in urls {
            for command in [["run"], ["status"], ["check"], ["migrate"]] {
                let result = try runBinary(command, environment: ["DATABASE_URL": url, "SUPABASE_SERVICE_ROLE_KEY": "test-token"])
                let output = result.stdout + result.stderr
                XCTAssertEqual(result.status, 78, "\(command) \(url): \(output)")
                XCTAssertFalse(output.contains("Sup3r") || output.contains("ZZsecret"), "\(command) printed the password: \(output)")
                XCTAssertFalse(output.isEmpty, "\(command) says what is wrong")
            }
        }
    }

    func testPasswordInDatabaseURLFlagIsRefused() throws {
        for url in [databaseURL, "host=127.0.0.1 user=postgres password=Sup3rZZsecret", "postgresql://postgres@127.0.0.1/x?password=Sup3rZZsecret"] {
            let result = try runBinary(["run", "--database-url", url], environment: ["SUPABASE_SERVICE_ROLE_KEY": "test-token"])
            XCTAssertEqual(result.status, 64, result.stderr)
            for hint in ["DATABASE_URL", "PGPASSWORD", ".pgpass"] {
                XCTAssertTrue(result.stderr.contains(hint), "names \(hint): \(result.stderr)")
            }
            XCTAssertFalse(result.stderr.contains("Sup3r") || result.stderr.contains("throwaway"), result.stderr)
        }
        // Without a password the flag still works (the password comes from PGPASSWORD).
        var components = try XCTUnwrap(URLComponents(string: databaseURL))
        let password = components.password
        components.password = nil
        let result = try runBinary(["status", "--database-url", components.string!], environment: ["PGPASSWORD": password ?? ""])
        XCTAssertEqual(result.status, 0, result.stderr)
    }
}
