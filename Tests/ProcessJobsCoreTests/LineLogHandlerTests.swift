import Foundation
import Logging
import XCTest
@testable import ProcessJobsCore

final class LineLogHandlerTests: XCTestCase {
    /// Everything `body` logs through a handler writing to a pipe.
    private func capture(_ format: LineLogHandler.Format, journald: Bool = true, level: Logger.Level = .info,
                         before: (@Sendable () -> Void)? = nil, _ body: (inout Logger) -> Void) throws -> String {
        var descriptors: [Int32] = [-1, -1]
        XCTAssertEqual(pipe(&descriptors), 0)
        let sink = LineSink(descriptor: descriptors[1], before: before)
        var logger = Logger(label: "test") { _ in LineLogHandler(format: format, level: level, journald: journald, sink: sink) }
        body(&logger)
        close(descriptors[1])
        defer { close(descriptors[0]) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(descriptors[0], $0.baseAddress, $0.count) }
            if count <= 0 { break }
            bytes += chunk[0..<count]
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private let jobFields: Logger.Metadata = [
        "zeta": "z", "outcome": "completed", "alpha": "a", "ms": .stringConvertible(12), "http": .stringConvertible(200),
        "attempt": .stringConvertible(1), "type": "generate-image", "id": "j1",
    ]

    func testTextLine() throws {
        let output = try capture(.text) { $0.info("job completed", metadata: jobFields) }
        XCTAssertEqual(output, "<6>info   job completed id=j1 type=generate-image attempt=1 http=200 ms=12 outcome=completed alpha=a zeta=z\n")
    }

    func testJSONLine() throws {
        let output = try capture(.json) { $0.info("job completed", metadata: jobFields) }
        XCTAssertEqual(output, #"<6>{"level":"info","msg":"job completed","id":"j1","type":"generate-image","attempt":1,"http":200,"ms":12,"outcome":"completed","alpha":"a","zeta":"z"}"# + "\n")
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(output.dropFirst(3).utf8)) as? [String: Any])
        XCTAssertEqual(object["attempt"] as? Int, 1)
        XCTAssertEqual(object["id"] as? String, "j1")
    }

    func testJournaldPriorities() throws {
        let cases: [(level: Logger.Level, text: String, json: String)] = [
            (.critical, "<2>error  m\n", #"<2>{"level":"error","msg":"m"}"# + "\n"),
            (.error, "<3>error  m\n", #"<3>{"level":"error","msg":"m"}"# + "\n"),
            (.warning, "<4>warning m\n", #"<4>{"level":"warning","msg":"m"}"# + "\n"),
            (.notice, "<5>info   m\n", #"<5>{"level":"info","msg":"m"}"# + "\n"),
            (.info, "<6>info   m\n", #"<6>{"level":"info","msg":"m"}"# + "\n"),
            (.debug, "<7>debug  m\n", #"<7>{"level":"debug","msg":"m"}"# + "\n"),
        ]
        for (level, text, json) in cases {
            XCTAssertEqual(try capture(.text, level: .trace) { $0.log(level: level, "m") }, text, "\(level)")
            XCTAssertEqual(try capture(.json, level: .trace) { $0.log(level: level, "m") }, json, "\(level)")
        }
    }

    func testTimestampsOffJournald() throws {
        let text = try capture(.text, journald: false) { $0.warning("careful") }
        XCTAssertNotNil(text.range(of: #"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z warning careful\n$"#, options: .regularExpression), text)

        let json = try capture(.json, journald: false) { $0.error("broken", metadata: ["id": "j1"]) }
        XCTAssertNotNil(json.range(of: #"^\{"ts":"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z","level":"error","msg":"broken","id":"j1"\}\n$"#,
                                   options: .regularExpression), json)
    }

    func testLevelFilter() throws {
        let output = try capture(.text, level: .warning) {
            $0.debug("no")
            $0.info("no")
            $0.warning("yes")
        }
        XCTAssertEqual(output, "<4>warning yes\n")
    }

    func testEscaping() throws {
        let fields: Logger.Metadata = [
            "error": "connection refused", "empty": "", "quote": "say \"hi\"", "eq": "a=b", "line": "a\nb", "plain": "ok",
        ]
        let text = try capture(.text) { $0.warning("lost", metadata: fields) }
        XCTAssertEqual(text, #"<4>warning lost error="connection refused" empty="" eq="a=b" line="a\nb" plain=ok quote="say \"hi\"""#
                       + "\n")

        let json = try capture(.json) { $0.warning("say \"hi\"\nagain", metadata: fields) }
        XCTAssertEqual(json.filter { $0 == "\n" }.count, 1, json)
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(json.dropFirst(3).utf8)) as? [String: Any])
        XCTAssertEqual(object["msg"] as? String, "say \"hi\"\nagain")
        XCTAssertEqual(object["line"] as? String, "a\nb")
        XCTAssertEqual(object["error"] as? String, "connection refused")
    }

    func testNestedValuesInJSON() throws {
        let json = try capture(.json) {
            $0.info("m", metadata: ["list": ["a", .stringConvertible(2)], "map": ["b": "2", "a": "1"], "ratio": .stringConvertible(1.5)])
        }
        XCTAssertEqual(json, #"<6>{"level":"info","msg":"m","list":["a",2],"map":{"a":"1","b":"2"},"ratio":"1.5"}"# + "\n")
    }

    func testHandlerMetadataMergesWithCallMetadata() throws {
        let output = try capture(.text) {
            $0[metadataKey: "run"] = "r1"
            $0[metadataKey: "type"] = "from-handler"
            $0.info("m", metadata: ["type": "from-call", "id": "j1"])
        }
        XCTAssertEqual(output, "<6>info   m id=j1 type=from-call run=r1\n")
    }

    func testBeforeRunsForEachLine() throws {
        let counter = Counter()
        let output = try capture(.text, before: { counter.increment() }) {
            $0.info("one")
            $0.info("two")
            $0.debug("filtered")
        }
        XCTAssertEqual(output, "<6>info   one\n<6>info   two\n")
        XCTAssertEqual(counter.value, 2)
    }

    func testLeadingFieldOrder() throws {
        let names = ["stop", "round_trips", "jobs_per_second", "seconds", "lease_lost", "rescued", "released", "failed",
                     "retried", "completed", "claimed", "error", "retry_count", "retry_in", "outcome", "ms", "http",
                     "attempt", "type", "id", "b", "a"]
        var fields: Logger.Metadata = [:]
        for name in names { fields[name] = "v" }
        let output = try capture(.text) { $0.info("m", metadata: fields) }
        let keys = output.dropFirst("<6>info   m ".count).dropLast().split(separator: " ").map { String($0.prefix { $0 != "=" }) }
        XCTAssertEqual(keys, names.dropLast(2).reversed() + ["a", "b"])
        XCTAssertEqual(Array(keys.prefix(6)), ["id", "type", "attempt", "http", "ms", "outcome"])
    }
}

private final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0

    func increment() { lock.withLock { count += 1 } }
    var value: Int { lock.withLock { count } }
}
