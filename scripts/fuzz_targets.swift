// Entry points for scripts/fuzz: libFuzzer calls LLVMFuzzerTestOneInput with each input, and
// $FUZZ_TARGET picks which parser gets it. Built with the parsers' own sources (no package, no
// database); a property that fails traps, which libFuzzer reports as a crash with its input.
import Foundation

enum Target: String, CaseIterable {
    case retryAfter = "retry-after", verdict, json, duration, appURL = "app-url", routes, token, runAt = "run-at"
    case time, number, jobID = "job-id", prometheus

    /// Inputs to start from, so the fuzzer begins inside each format.
    var seeds: [String] {
        switch self {
        case .retryAfter: ["120", "Sun, 06 Nov 1994 08:49:37 GMT\nSun, 06 Nov 1994 08:48:37 GMT"]
        case .verdict: ["\u{01}\u{F7}120\nSun, 06 Nov 1994 08:49:37 GMT\n{\"error\":\"busy\"}", "\u{00}\u{C8}\n\n{\"ok\":true}"]
        case .json: [#"{"error":{"message":"x"},"a":[1,-2.5e3,true,null,"\u00e9\ud83d\ude00"]}"#]
        case .duration: ["30s", "250ms", "1.5h", "7d"]
        case .appURL: ["https://app.example.com:8443/prefix", "http://127.0.0.1:3000"]
        case .routes: ["generate-image=/api/process-image", "t=https://hooks.example.com/x"]
        case .token: ["eyJhbGciOiJIUzI1NiJ9.key\n"]
        case .runAt: ["2025-01-31T09:00:00Z", "2025-01-31 10:00:00.5+01:00", "+5m", "now"]
        case .time, .number: ["\u{00}\u{00}\u{00}\u{00}\u{00}\u{00}\u{F0}\u{3F}"]
        case .jobID: ["0b1e5a3c-1234-4cde-8f00-0123456789ab"]
        case .prometheus: ["generate-image\\\"\n"]
        }
    }
}

let target: Target = {
    guard let name = ProcessInfo.processInfo.environment["FUZZ_TARGET"], let target = Target(rawValue: name) else {
        fatalError("FUZZ_TARGET must be one of: \(Target.allCases.map(\.rawValue).joined(separator: ", "))")
    }
    return target
}()

func check(_ condition: Bool, _ message: @autoclosure () -> String) {
    if !condition { fatalError("property failed: \(message())") }
}

func double(_ bytes: [UInt8]) -> Double {
    var bits: UInt64 = 0
    for byte in bytes.prefix(8) { bits = bits << 8 | UInt64(byte) }
    return Double(bitPattern: bits)
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let text = String(decoding: bytes, as: UTF8.self)
    let lines = text.split(separator: "\n", maxSplits: 2, omittingEmptySubsequences: false).map(String.init)
    switch target {
    case .retryAfter:
        if let delay = RetryAfter.seconds(lines[0], responseDate: lines.count > 1 ? lines[1] : nil, now: 1.75e9) {
            check(delay.isFinite && delay >= 0, "Retry-After delay \(delay)")
        }
    case .verdict:
        guard bytes.count >= 2 else { return 0 }
        let rest = String(decoding: bytes.dropFirst(2), as: UTF8.self).split(separator: "\n", maxSplits: 2, omittingEmptySubsequences: false)
        let response = Response(status: Int(bytes[0]) << 8 | Int(bytes[1]), body: rest.count > 2 ? Array(rest[2].utf8) : [],
                                headers: .init(retryAfter: rest.first.map(String.init), date: rest.count > 1 ? String(rest[1]) : nil))
        if case .transient(_, let retryAfter?) = Verdict.classify(.response(response), now: 1.75e9) {
            check(retryAfter.isFinite && retryAfter >= 0, "retry after \(retryAfter)")
        }
    case .json:
        _ = JSONText.isValid(bytes)
        _ = JSONText.errorField(bytes)
        check(JSONText.isValid(Array(JSONText.quote(text).utf8)), "quote is not JSON")
    case .duration:
        if let seconds = try? DurationText.seconds(text) {
            check(seconds.isFinite && seconds >= 0 && seconds <= DurationText.maximum, "duration \(seconds)")
        }
        _ = DurationText.format(double(bytes))
    case .appURL:
        if let url = try? AppURL(text) {
            check(!url.host.isEmpty && (try? AppURL(url.description)) == url, "app URL round trip of \(text)")
            _ = url.resolve(lines.last ?? "")
        }
    case .routes:
        if let routes = try? Routes(overrides: lines) {
            check(routes.table.allSatisfy { (try? Routes.checkType($0.type)) != nil }, "route type")
        }
    case .token:
        if let token = try? Token.check(text, source: "fuzz") {
            check(token.value.unicodeScalars.allSatisfy { $0.value > 0x20 && $0.value < 0x7F }, "token characters")
        }
    case .runAt:
        if let runAt = try? RunAt.parse(text) {
            check(runAt.seconds.isFinite, "run at \(runAt.seconds)")
            _ = runAt.parameter
        }
    case .time:
        _ = TimeText.rfc3339(double(bytes))
        _ = TimeText.relative(double(bytes))
    case .number:
        let value = double(bytes)
        if value.isFinite {
            let text = NumberText.fixed(value, decimals: Int(bytes.last ?? 0) % 10)
            check(Double(text) != nil, "\(value) -> \(text)")
        }
    case .jobID:
        _ = JobID.isValid(text)
    case .prometheus:
        let rendered = PrometheusText.render([MetricFamily(name: "f", help: text, samples: [.init([.init("l", text)], double(bytes))])])
        check(rendered.utf8.filter { $0 == UInt8(ascii: "\n") }.count == 3, "a value broke a line")
    }
    return 0
}

/// With FUZZ_SEEDS=DIR, writes the target's seeds into DIR (scripts/fuzz does it for a new corpus).
@_cdecl("LLVMFuzzerInitialize")
public func fuzzInitialize(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>) -> CInt {
    if let directory = ProcessInfo.processInfo.environment["FUZZ_SEEDS"] {
        for (index, seed) in target.seeds.enumerated() {
            FileManager.default.createFile(atPath: "\(directory)/seed-\(index)", contents: Data(seed.utf8))
        }
    }
    return 0
}
