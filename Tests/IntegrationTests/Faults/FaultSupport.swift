import Foundation
import PostgresClient
@testable import ProcessJobsCore
import XCTest

/// What the fault suite's scenarios share: the figure line, who holds a lease, the state of
/// every row at the end, and a timer-like loop of runs.
enum Fault {
    /// Prints a scenario's one figure line on stdout (docs/reliability.md quotes the last run's).
    static func figure(_ line: String) {
        print(line)
        fflush(nil)  // all C streams: the line shows where the test ran, not later
    }

    /// The host name the binary writes into locked_by ("host:pid").
    static let hostName: String = {
        var buffer = [CChar](repeating: 0, count: 256)
        gethostname(&buffer, buffer.count - 1)
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }()

    /// The locked_by of a binary started on this host.
    static func holder(_ child: Child) -> String { "\(hostName):\(child.pid)" }

    static func seconds(_ value: Double) -> String { String(format: value < 1 ? "%.2fs" : "%.1fs", value) }

    /// JSON log lines of the binary (--log-format json), as dictionaries.
    static func logLines(_ stderr: String) -> [[String: Any]] {
        stderr.split(separator: "\n").compactMap {
            (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any]
        }
    }

    /// A field of a log line as a string, whether it was written as a string or a number.
    static func field(_ line: [String: Any], _ key: String) -> String? {
        switch line[key] {
        case let text as String: return text
        case let number as NSNumber: return number.stringValue
        default: return nil
        }
    }

    /// The "run done" summary of one run.
    static func summary(_ stderr: String) -> [String: Any]? {
        logLines(stderr).last { field($0, "msg") == "run done" }
    }

    /// The app's requests to the job routes, per job id, in arrival order.
    static func byJob(_ requests: [AppRequest]) -> [String: [AppRequest]] {
        Dictionary(grouping: requests.filter { $0.jobId != nil }, by: { $0.jobId! })
            .mapValues { $0.sorted { $0.seq < $1.seq } }
    }

    /// A free TCP port on loopback (closed again: there is a small window for someone else).
    static func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

/// How many rows are in each state.
struct Census: CustomStringConvertible {
    var counts: [String: Int] = [:]

    init(_ db: Connection) throws {
        for row in try db.query("SELECT coalesce(status, 'null'), count(*) FROM job_queue GROUP BY 1").values {
            counts[row[0]!] = Int(row[1]!)!
        }
    }

    var completed: Int { counts["completed", default: 0] }
    var failed: Int { counts["failed", default: 0] }
    var pending: Int { counts["pending", default: 0] }
    var processing: Int { counts["processing", default: 0] }
    var total: Int { counts.values.reduce(0, +) }
    /// Rows that would never move again without a run: none may be left at the end.
    var stuck: Int { pending + processing }

    var description: String { counts.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ") }
}

extension Connection {
    /// id -> retry_count for the rows matching `condition`.
    func retryCounts(where condition: String = "true", _ parameters: [String?] = []) throws -> [String: Int] {
        var counts: [String: Int] = [:]
        for row in try query("SELECT id, coalesce(retry_count, 0) FROM job_queue WHERE \(condition)", parameters).values {
            counts[row[0]!] = Int(row[1]!)!
        }
        return counts
    }

    /// Seconds until the next job is due or the next lease expires (nil when nothing is left).
    func secondsUntilNextWork() throws -> Double? {
        let row = try query("""
            SELECT extract(epoch FROM least(min(run_at) FILTER (WHERE status = 'pending'),
                                            min(locked_until) FILTER (WHERE status = 'processing')) - now())::float8
            FROM job_queue
            """).values[0]
        return row[0].flatMap(Double.init)
    }
}

extension IntegrationTestCase {
    /// Runs the binary again and again, as a timer would, until no job is pending or processing.
    /// Between runs it waits until the next job is due or the next lease has expired. Every run
    /// must exit 0. Returns each run's stderr.
    func runUntilSettled(_ arguments: [String], environment: [String: String], timeout: Double,
                         file: StaticString = #filePath, line: UInt = #line) throws -> [String] {
        let deadline = Date().addingTimeInterval(timeout)
        var logs: [String] = []
        while Date() < deadline {
            guard let wait = try db.secondsUntilNextWork() else { return logs }
            if wait > 0 { usleep(useconds_t(min(wait + 0.05, 2) * 1_000_000)) }
            let result = try runBinary(arguments, environment: environment, timeout: 120)
            XCTAssertEqual(result.status, 0, "run \(logs.count + 1): \(result.stderr.suffix(2000))", file: file, line: line)
            logs.append(result.stderr)
            if result.status != 0 { return logs }
        }
        XCTFail("work left after \(timeout)s: \(try Census(db))", file: file, line: line)
        return logs
    }
}

/// What a kill storm did: how many runners it killed, how the others exited, how long it took.
struct KillStorm {
    var kills = 0
    var exits: [Int32] = []
    var seconds = 0.0
}

extension IntegrationTestCase {
    /// Keeps `slots` runners going as a supervisor would (one that exits is replaced 0.2 s later,
    /// the timer's next tick; one that is killed, at once) and SIGKILLs one at random moments, at
    /// most `maximumKills` times, until nothing is pending or processing. `killed` sees each victim
    /// once it has died, before its rows change.
    func killStorm(slots: Int, maximumKills: Int, seed: UInt64, arguments: [String], environment: [String: String],
                   killed: (Child) throws -> Void = { _ in }) throws -> KillStorm {
        var random = SplitMix64(seed: seed)
        var runners: [Child?] = Array(repeating: nil, count: slots)
        var startAfter = Array(repeating: Date.distantPast, count: slots)
        var storm = KillStorm()
        var nextKill = Date().addingTimeInterval(0.3)
        let started = Date()
        let deadline = started.addingTimeInterval(150)
        while try db.count(where: "status IN ('pending', 'processing')") > 0 {
            guard Date() < deadline else {
                XCTFail("the storm did not settle: \(try Census(db))")
                break
            }
            for slot in 0..<slots {
                if let runner = runners[slot], !runner.isRunning {
                    storm.exits.append(runner.wait(timeout: 5) ?? -1)
                    runner.cleanUp()
                    runners[slot] = nil
                    startAfter[slot] = Date().addingTimeInterval(0.2)
                }
                if runners[slot] == nil && Date() >= startAfter[slot] {
                    runners[slot] = try startBinary(arguments, environment: environment)
                }
            }
            let alive = (0..<slots).filter { runners[$0]?.isRunning == true }
            if Date() >= nextKill, storm.kills < maximumKills, let slot = alive.randomElement(using: &random) {
                let victim = runners[slot]!
                victim.signal(SIGKILL)
                _ = victim.wait(timeout: 10)
                try killed(victim)
                victim.cleanUp()
                runners[slot] = nil
                storm.kills += 1
                nextKill = Date().addingTimeInterval(0.05 + 0.3 * random.nextUnit())
            }
            usleep(10_000)
        }
        for runner in runners.compactMap({ $0 }) {
            storm.exits.append(runner.result(timeout: 30).status)
        }
        storm.seconds = Date().timeIntervalSince(started)
        return storm
    }
}
