import Foundation

/// A second PostgreSQL server of a test's own (scripts/pg-throwaway), e.g. in another encoding
/// or with TLS; stopped and removed by `stop()`.
final class ThrowawayServer {
    let url: String
    let directory: String

    init(encoding: String? = nil, options: String? = nil) throws {
        directory = "/tmp/pj-extra-pg-\(getpid())-\(Int.random(in: 0..<1_000_000))"
        var environment = ProcessInfo.processInfo.environment
        environment["PG_THROWAWAY_ENCODING"] = encoding
        environment["PG_THROWAWAY_OPTS"] = options
        let result = try shell(Paths.script("pg-throwaway"), ["start", directory], environment: environment, timeout: 120)
        guard result.status == 0 else { throw TestAppError(message: "pg-throwaway start: \(result.stderr)") }
        url = result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func stop() {
        _ = try? shell(Paths.script("pg-throwaway"), ["stop", directory], timeout: 60)
    }
}
