import Foundation
import PostgresClient
@testable import ProcessJobsCore
import XCTest

/// A database not in UTF-8 (SQL_ASCII, what initdb gives under the C locale; LATIN1): answers
/// and error texts with characters the encoding cannot hold are stored so they fit, as valid
/// JSON, and the run neither exits 78 nor loses the batch's outcomes. `check` names the encoding.
final class ServerEncodingTests: XCTestCase {
    func testSQLASCIIDatabase() throws { try runAgainst(encoding: "SQL_ASCII") }

    func testLATIN1Database() throws { try runAgainst(encoding: "LATIN1") }

    private func runAgainst(encoding: String) throws {
        let server = try ThrowawayServer(encoding: encoding)
        defer { server.stop() }
        let db = try Connection(conninfo: server.url)
        XCTAssertEqual(try db.query("SHOW server_encoding").values[0][0], encoding)
        try db.execute(script: Fixtures.originalSchema)
        try db.execute(script: Migration.sql)
        let app = try TestApp()
        defer { app.stop() }
        let escaped = try db.insertJob("generate-image")
        let raw = try db.insertJob("generate-image")
        let failing = try db.insertJob("generate-image")
        try db.insertJobs("generate-image", count: 20)
        // testapp writes JSON bodies with json.dumps: "caf\u00e9"; the second body is raw UTF-8.
        try app.setRules("""
            [{"match": {"jobId": "\(escaped)"}, "action": {"status": 200, "body": {"success": true, "name": "café 😀"}}},
             {"match": {"jobId": "\(raw)"}, "action": {"status": 200, "body": "{\\"success\\": true, \\"name\\": \\"café 😀\\"}"}},
             {"match": {"jobId": "\(failing)"}, "action": {"status": 500, "body": "Erreur: café ☕ indisponible"}}]
            """)
        let environment = ["DATABASE_URL": server.url, "SUPABASE_SERVICE_ROLE_KEY": "test-token", "APP_URL": app.url]
        let result = try runBinary(["run", "--log-format", "json"], environment: environment)
        XCTAssertEqual(result.status, 0, result.stderr.suffix(1500).description)
        XCTAssertEqual(try db.count(where: "status = 'completed'"), 22, "every answered job recorded")
        for id in [escaped, raw] {
            let stored = try XCTUnwrap(try db.job(id).result, "result stored")
            let object = try JSONSerialization.jsonObject(with: Data(stored.utf8)) as? [String: Any]
            let name = object?["name"] as? String ?? ""
            XCTAssertTrue(name.hasPrefix("caf"), "valid JSON with the answer's text: \(stored)")
            if encoding == "LATIN1" { XCTAssertTrue(name.hasPrefix("café"), "LATIN1 holds é: \(stored)") }
        }
        let error = try XCTUnwrap(try db.job(failing).errorMessage)
        XCTAssertTrue(error.contains("Erreur: caf") && error.contains("indisponible"), error)
        XCTAssertEqual(try db.job(failing).status, "pending")

        let check = try runBinary(["check"], environment: environment)
        XCTAssertTrue(check.stdout.contains(encoding), "check names the server encoding: \(check.stdout)")
    }
}
