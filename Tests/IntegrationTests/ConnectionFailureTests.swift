import Foundation
import PostgresClient
@testable import ProcessJobsCore
import XCTest

/// libpq's connection failures, classified: 75 only when the database is not reachable now
/// (refused, no answer in time, too many connections); a configuration error (TLS, a bad
/// parameter, a bad password) exits 78, so a timer does not retry a typo forever.
final class ConnectionFailureTests: IntegrationTestCase {
    private func exitCode(_ url: String, _ extra: [String] = [], file: StaticString = #filePath, line: UInt = #line) throws -> CommandResult {
        let result = try runBinary(["run"] + extra, environment: ["DATABASE_URL": url, "SUPABASE_SERVICE_ROLE_KEY": "test-token"], timeout: 30)
        XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, "one line: \(result.stderr)", file: file, line: line)
        return result
    }

    func testConfigurationErrorsExit78() throws {
        let base = try XCTUnwrap(URLComponents(string: databaseURL))
        let port = base.port ?? 5432
        let cases = [
            ("bad sslmode", databaseURL + "?sslmode=bogus"),
            ("bad port", "postgresql://postgres@127.0.0.1:99999/postgres"),
            ("unknown parameter", databaseURL + "?no_such_parameter=1"),
            ("unterminated quote", "host='127.0.0.1 port=\(port)"),
            ("TLS required by a server without it", databaseURL + "?sslmode=require"),
            ("wrong password", databaseURL.replacingOccurrences(of: ":\(base.password ?? "")@", with: ":Not-The-Password@")),
            ("unknown host", "postgresql://postgres@no-such-host.invalid/postgres"),
        ]
        for (name, url) in cases {
            let result = try exitCode(url)
            XCTAssertEqual(result.status, 78, "\(name): \(result.stderr)")
        }
    }

    func testTLSConfigurationErrorsExit78() throws {
        let tls = try TLSFiles()
        defer { tls.remove() }
        let server = try ThrowawayServer(options: "-c ssl=on -c ssl_cert_file=\(tls.directory)/server.crt -c ssl_key_file=\(tls.directory)/server.key")
        defer { server.stop() }
        let cases = [
            ("wrong CA", server.url + "?sslmode=verify-ca&sslrootcert=\(tls.directory)/other-ca.crt"),
            ("missing sslrootcert", server.url + "?sslmode=verify-ca&sslrootcert=\(tls.directory)/no-such-ca.crt"),
            ("host name mismatch", server.url + "?sslmode=verify-full&sslrootcert=\(tls.directory)/ca.crt"),
        ]
        // The right CA works (so the failures above are the configuration's, not the server's).
        let good = try runBinary(["status"], environment: ["DATABASE_URL": server.url + "?sslmode=verify-ca&sslrootcert=\(tls.directory)/ca.crt"])
        XCTAssertEqual(good.status, 78, "connected over TLS (no job_queue there): \(good.stderr)")
        XCTAssertTrue(good.stderr.contains("job_queue"), good.stderr)
        for (name, url) in cases {
            let result = try exitCode(url)
            XCTAssertEqual(result.status, 78, "\(name): \(result.stderr)")
        }
    }

    func testNotReachableNowExits75() throws {
        // A listener that accepts the connection and never answers.
        let silent = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(silent) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(silent, $0, length) } }
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(silent, $0, &length) } }
        listen(silent, 8)
        let silentPort = Int(UInt16(bigEndian: address.sin_port))

        try db.query("CREATE ROLE pj_limited_\(getpid()) LOGIN PASSWORD 'limited' CONNECTION LIMIT 0")
        defer { _ = try? db.query("DROP ROLE pj_limited_\(getpid())") }
        var limited = try XCTUnwrap(URLComponents(string: databaseURL))
        limited.user = "pj_limited_\(getpid())"
        limited.password = "limited"

        let started = Date()
        let silentResult = try exitCode("postgresql://postgres@127.0.0.1:\(silentPort)/postgres", ["--db-timeout", "1s"])
        let waited = Date().timeIntervalSince(started)
        XCTAssertEqual(silentResult.status, 75, silentResult.stderr)
        XCTAssertLessThan(waited, 3, "connecting is bounded by --db-timeout")
        let refused = try exitCode("postgresql://postgres@127.0.0.1:\(Fault.freePort())/postgres")
        XCTAssertEqual(refused.status, 75, refused.stderr)
        let tooMany = try exitCode(limited.string!)
        XCTAssertEqual(tooMany.status, 75, tooMany.stderr)
    }
}

/// A private CA, a server certificate for the name db.example only, and an unrelated second CA.
struct TLSFiles {
    let directory = "/tmp/pj-tls-\(getpid())-\(Int.random(in: 0..<1_000_000))"

    init() throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let script = """
            set -e
            cd "\(directory)"
            openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=pj-test-ca -keyout ca.key -out ca.crt
            openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=other-ca -keyout other-ca.key -out other-ca.crt
            openssl req -newkey rsa:2048 -nodes -subj /CN=db.example -addext subjectAltName=DNS:db.example -keyout server.key -out server.csr
            printf 'subjectAltName=DNS:db.example\\n' > ext.cnf
            openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 -extfile ext.cnf -out server.crt
            chmod 600 server.key
            if [ "$(id -u)" = 0 ]; then chown postgres server.key server.crt; fi
            """
        let result = try shell("/bin/sh", ["-c", script], timeout: 60)
        guard result.status == 0 else { throw TestAppError(message: "openssl: \(result.stderr)") }
    }

    func remove() { try? FileManager.default.removeItem(atPath: directory) }
}
