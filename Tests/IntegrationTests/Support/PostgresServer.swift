import Foundation
import PostgresClient
import XCTest

/// The PostgreSQL server the integration tests use: $TEST_DATABASE_URL (an admin connection to a
/// server where databases may be created), else a throwaway server started here on first use
/// (initdb in a temporary directory, free port) and stopped when the test process exits.
final class PostgresServer: @unchecked Sendable {
    static let shared = PostgresServer()

    let adminURL: String
    private var counter = 0

    private init() {
        if let url = ProcessInfo.processInfo.environment["TEST_DATABASE_URL"], !url.isEmpty {
            adminURL = url
            return
        }
        let directory = NSTemporaryDirectory() + "pj-tests-pg-\(getpid())"
        let result = try! shell(Paths.script("pg-throwaway"), ["start", directory], timeout: 120)
        precondition(result.status == 0, "could not start a throwaway PostgreSQL server: \(result.stderr)")
        adminURL = result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        PostgresServer.ownedDirectory = directory
        atexit {
            if let directory = PostgresServer.ownedDirectory {
                _ = try? shell(Paths.script("pg-throwaway"), ["stop", directory], timeout: 60)
            }
        }
    }

    nonisolated(unsafe) private static var ownedDirectory: String?

    /// The server's data directory and port when this process started it (for restart tests).
    var ownedServer: (directory: String, port: String)? {
        guard let directory = PostgresServer.ownedDirectory,
              let port = try? String(contentsOfFile: directory + "/port", encoding: .utf8) else { return nil }
        return (directory, port.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// The data directory of a server this process may restart: the one it started, or the one
    /// scripts/test started ($TEST_DATABASE_DIR, used only when its port is $TEST_DATABASE_URL's).
    /// nil for a server someone else runs: restarting it would cut their connections too.
    var restartableDirectory: String? {
        if let owned = ownedServer { return owned.directory }
        guard let directory = ProcessInfo.processInfo.environment["TEST_DATABASE_DIR"], !directory.isEmpty,
              let port = try? String(contentsOfFile: directory + "/port", encoding: .utf8),
              let urlPort = URLComponents(string: adminURL)?.port,
              port.trimmingCharacters(in: .whitespacesAndNewlines) == String(urlPort) else { return nil }
        return directory
    }

    /// Restarts the server with `pg_ctl restart -m fast` (same options, same port): every open
    /// connection is cut, as in a failover. Returns once it accepts connections again.
    func restart() throws {
        guard let directory = restartableDirectory else {
            throw XCTSkip("the PostgreSQL server at $TEST_DATABASE_URL is not ours to restart: unset TEST_DATABASE_URL (the tests start their own) or run scripts/test, which exports TEST_DATABASE_DIR")
        }
        let result = try shell(Paths.script("pg-throwaway"), ["restart", directory], timeout: 120)
        guard result.status == 0 else { throw TestAppError(message: "restart failed: \(result.stderr)") }
    }

    /// A new, empty database; its URL.
    func createDatabase() throws -> (name: String, url: String) {
        counter += 1
        let name = "pj_\(getpid())_\(counter)_\(Int.random(in: 0..<1_000_000))"
        let admin = try Connection(conninfo: adminURL)
        try admin.query("CREATE DATABASE \(name)")
        return (name, PostgresServer.url(adminURL, database: name))
    }

    func dropDatabase(_ name: String) {
        guard let admin = try? Connection(conninfo: adminURL) else { return }
        _ = try? admin.query("DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
    }

    /// `url` pointing at another database: URI path replaced, or dbname appended to key=value.
    static func url(_ url: String, database: String) -> String {
        guard let scheme = url.range(of: "://") else { return url + " dbname=\(database)" }
        let query = url.firstIndex(of: "?").map { String(url[$0...]) } ?? ""
        let withoutQuery = query.isEmpty ? url : String(url[..<url.firstIndex(of: "?")!])
        let afterScheme = withoutQuery[scheme.upperBound...]
        let host = afterScheme.firstIndex(of: "/").map { String(afterScheme[..<$0]) } ?? String(afterScheme)
        return String(withoutQuery[..<scheme.upperBound]) + host + "/" + database + query
    }
}
