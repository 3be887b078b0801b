import Foundation
import XCTest
@testable import ProcessJobsCore

/// A bounded, reproducible fuzz pass: each target first takes its fixed hostile inputs (boundary
/// integers, huge numbers, control characters, non-ASCII, truncated UTF-8, deep nesting), then
/// inputs drawn from a seeded generator until its time is up.
///
///   PROCESS_JOBS_FUZZ_SECONDS  time per target (default 1; CI keeps the default, a long pass by
///                              hand sets minutes)
///   PROCESS_JOBS_FUZZ_SEED     the generator's seed (default fixed, so CI sees the same inputs)
///
/// A property that does not hold fails the test with the input. A trap cannot be caught in the
/// process, so before every input its bytes are kept where a signal handler can print them: a
/// crash ends the run with "fuzz: <target> crashed on input #N: <escaped bytes>" before the
/// runtime's own report.
enum Fuzz {
    static let seconds: Double = ProcessInfo.processInfo.environment["PROCESS_JOBS_FUZZ_SECONDS"]
        .flatMap(Double.init).map { max(0, $0) } ?? 1
    static let seed: UInt64 = ProcessInfo.processInfo.environment["PROCESS_JOBS_FUZZ_SEED"]
        .flatMap { UInt64($0) } ?? 0x5EED_F022

    /// Runs `property` on the fixed inputs, then on `generate`'s until the time is up or `test`
    /// has five failures (each names its input); prints the figures
    /// ("fuzz RetryAfter: 123456 inputs in 1.0 s, seed 1592651810, no crash").
    static func run<Input>(_ test: XCTestCase, _ target: String, fixed: [Input], bytes: (Input) -> [UInt8],
                           generate: (inout Hostile) -> Input, property: (Input) -> Void) {
        CrashReport.install()
        var hostile = Hostile(seed: seed ^ UInt64(truncatingIfNeeded: target.utf8.reduce(5381) { $0 &* 33 &+ Int($1) }))
        let start = Date()
        var count = 0
        func one(_ input: Input) {
            CrashReport.remember(target: target, index: count, bytes: bytes(input))
            property(input)
            count += 1
        }
        func failures() -> Int { test.testRun?.totalFailureCount ?? 0 }
        let failuresBefore = failures()
        fixed.forEach(one)
        while Date().timeIntervalSince(start) < seconds && failures() - failuresBefore < 5 {
            for _ in 0..<64 { one(generate(&hostile)) }
        }
        CrashReport.forget()
        let elapsed = Date().timeIntervalSince(start)
        let failed = failures() - failuresBefore
        print("fuzz \(target): \(count) inputs in \(String(format: "%.1f", elapsed)) s, seed \(seed), no crash"
              + (failed > 0 ? ", stopped after \(failed) failures" : ""))
    }

    static func run(_ test: XCTestCase, _ target: String, fixed: [String], generate: (inout Hostile) -> String,
                    property: (String) -> Void) {
        run(test, target, fixed: fixed, bytes: { Array($0.utf8) }, generate: generate, property: property)
    }
}

/// Seeded hostile inputs, drawn from the engine's SplitMix64: the same sequence on every platform.
struct Hostile: RandomNumberGenerator {
    private var random: SplitMix64

    init(seed: UInt64) { random = SplitMix64(seed: seed) }

    mutating func next() -> UInt64 { random.next() }

    mutating func chance(_ percent: Int) -> Bool { Int.random(in: 0..<100, using: &self) < percent }

    mutating func pick<T>(_ items: [T]) -> T { items[Int.random(in: 0..<items.count, using: &self)] }

    /// Integers where arithmetic breaks: zero, signs, the edges of every width, powers of ten.
    static let boundaryIntegers: [String] = {
        var values = ["0", "-0", "1", "-1", "00", "007", "+1", "60", "61", "99", "100", "1000", "9999", "10000",
                      "65535", "65536", "2147483647", "2147483648", "-2147483648", "-2147483649",
                      "4294967295", "4294967296", "9223372036854775807", "9223372036854775808",
                      "-9223372036854775808", "-9223372036854775809", "18446744073709551615",
                      "18446744073709551616", "106751991167300", "292277026596", "300000000000",
                      "315537897600", "99999999999999999999999999999999999999"]
        for exponent in [3, 6, 9, 12, 15, 16, 17, 18, 19, 20, 30, 308, 309] {
            values.append("1" + String(repeating: "0", count: exponent))
        }
        return values
    }()

    /// Text that breaks naive parsers: signs, exponents, non-finite words, whitespace of every
    /// kind, control characters, non-ASCII digits and letters, combining marks, emoji, a BOM.
    static let hostilePieces: [String] = [
        "", " ", "  ", "\t", "\n", "\r\n", "\r", "\0", "\u{7F}", "\u{1B}[2J", "\u{85}", "\u{A0}", "\u{2028}", "\u{FEFF}",
        "-", "+", ".", ",", ":", ";", "=", "/", "//", "\\", "\"", "'", "%", "%00", "%ZZ", "@", "[", "]", "{", "}",
        "e", "E", "e308", "e-400", "1e3", "0x10", "inf", "-inf", "nan", "NaN", "Infinity", "1_000", "½", "٣", "５",
        "é", "e\u{301}", "İ", "ß", "😀", "👩‍👩‍👧", "\u{10FFFF}", "\u{FFFD}", String(repeating: "9", count: 400),
        String(repeating: "a", count: 5000), String(repeating: " ", count: 300),
    ] + boundaryIntegers

    /// A string built from `dictionary` (the target's own vocabulary) and hostile pieces.
    mutating func text(_ dictionary: [String], maxPieces: Int = 8) -> String {
        var out = ""
        for _ in 0..<Int.random(in: 1...maxPieces, using: &self) {
            out += chance(60) ? pick(dictionary) : pick(Hostile.hostilePieces)
        }
        return out
    }

    /// `valid` with a few edits: a piece inserted, replaced or cut, or the text truncated.
    mutating func mutate(_ valid: String, _ dictionary: [String]) -> String {
        var characters = Array(valid)
        for _ in 0..<Int.random(in: 1...3, using: &self) {
            let at = Int.random(in: 0...characters.count, using: &self)
            switch Int.random(in: 0..<5, using: &self) {
            case 0: characters.insert(contentsOf: Array(chance(50) ? pick(dictionary) : pick(Hostile.hostilePieces)), at: at)
            case 1 where at < characters.count:
                characters.replaceSubrange(at...at, with: Array(chance(50) ? pick(dictionary) : pick(Hostile.hostilePieces)))
            case 2 where at < characters.count: characters.removeSubrange(at..<min(characters.count, at + Int.random(in: 1...4, using: &self)))
            case 3: characters = Array(characters.prefix(at))
            default: characters.insert(Character(Unicode.Scalar(UInt8.random(in: 0...0x7F, using: &self))), at: at)
            }
        }
        return String(characters)
    }

    /// Raw bytes: mostly ASCII, with invalid and truncated UTF-8 sequences mixed in.
    mutating func bytes(maxCount: Int = 64) -> [UInt8] {
        var out: [UInt8] = []
        let count = Int.random(in: 0...maxCount, using: &self)
        while out.count < count {
            switch Int.random(in: 0..<10, using: &self) {
            case 0: out.append(UInt8.random(in: 0x80...0xFF, using: &self))
            case 1: out += pick([[0xC3], [0xE2, 0x82], [0xF0, 0x9F, 0x98], [0xED, 0xA0, 0x80], [0xC0, 0xAF], [0xF4, 0x90, 0x80, 0x80]])
            case 2: out.append(UInt8.random(in: 0...0x1F, using: &self))
            default: out.append(UInt8.random(in: 0x20...0x7E, using: &self))
            }
        }
        return out
    }

    /// A string from raw bytes (invalid UTF-8 becomes U+FFFD, as headers decoded leniently do).
    mutating func byteString(maxCount: Int = 64) -> String {
        String(decoding: bytes(maxCount: maxCount), as: UTF8.self)
    }

    /// Doubles where arithmetic breaks: zero, subnormals, the edges of Int64 and of the ranges
    /// the code names, huge and tiny values of both signs, non-finite values.
    mutating func double(finite: Bool = false) -> Double {
        var edges: [Double] = [0, -0.0, 0.5, -0.5, 1, -1, 59.99, 9.5e-5, .leastNonzeroMagnitude, .ulpOfOne, 1e15, 1e15 - 0.5,
                               9.2e18, -9.2e18, 9.223372036854775807e18, 1.8446744073709552e19, 1e300, -1e300,
                               .greatestFiniteMagnitude, -.greatestFiniteMagnitude, 315_537_897_600, 253_402_300_799]
        if !finite { edges += [.infinity, -.infinity, .nan] }
        switch Int.random(in: 0..<4, using: &self) {
        case 0: return pick(edges)
        case 1: return Double.random(in: -1e4...1e4, using: &self)
        case 2: return Double(Int64.random(in: .min ... .max, using: &self)) / pick([1, 1000, 1e9])
        default:
            let value = Double(bitPattern: next())
            return finite && !value.isFinite ? 0 : value
        }
    }
}

/// What a crashing input was, printed by a signal handler (write(2) only: nothing in a handler
/// may allocate).
enum CrashReport {
    private static let capacity = 4096
    nonisolated(unsafe) private static var input = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity)
    nonisolated(unsafe) private static var inputCount = 0
    nonisolated(unsafe) private static var fullCount = 0
    nonisolated(unsafe) private static var index = 0
    nonisolated(unsafe) private static var target = UnsafeMutablePointer<UInt8>.allocate(capacity: 64)
    nonisolated(unsafe) private static var targetCount = 0
    nonisolated(unsafe) private static var armed = false
    nonisolated(unsafe) private static var installed = false
    nonisolated(unsafe) private static var line = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity * 4 + 512)
    private static let signals: [Int32] = [SIGILL, SIGTRAP, SIGSEGV, SIGBUS, SIGFPE, SIGABRT]
    nonisolated(unsafe) private static var previous = UnsafeMutablePointer<sigaction>.allocate(capacity: 32)

    static func install() {
        guard !installed else { return }
        installed = true
        for signal in signals {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { signal in CrashReport.report(signal) }
            sigemptyset(&action.sa_mask)
            sigaction(signal, &action, previous + Int(signal))
        }
    }

    static func remember(target name: String, index number: Int, bytes: [UInt8]) {
        if name.utf8.count != targetCount || !name.utf8.elementsEqual(UnsafeBufferPointer(start: target, count: targetCount)) {
            targetCount = min(64, name.utf8.count)
            for (offset, byte) in name.utf8.prefix(64).enumerated() { target[offset] = byte }
        }
        index = number
        fullCount = bytes.count
        inputCount = min(capacity, bytes.count)
        bytes.withUnsafeBufferPointer { input.update(from: $0.baseAddress!, count: inputCount) }
        armed = true
    }

    static func forget() { armed = false }

    /// Writes the line, puts back the previous handler and returns: the faulting instruction runs
    /// again and the runtime reports the crash as it would have.
    private static func report(_ signal: Int32) {
        if armed {
            var length = 0
            func put(_ byte: UInt8) { line[length] = byte; length += 1 }
            func put(_ text: StaticString) { for offset in 0..<text.utf8CodeUnitCount { put(text.utf8Start[offset]) } }
            func put(number: Int) {
                var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
                    (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
                var value = number, count = 0
                withUnsafeMutableBytes(of: &digits) { buffer in
                    repeat { buffer[count] = UInt8(value % 10) + 0x30; value /= 10; count += 1 } while value > 0
                    while count > 0 { count -= 1; put(buffer[count]) }
                }
            }
            let hex: StaticString = "0123456789abcdef"
            put("\nfuzz: ")
            for offset in 0..<targetCount { put(target[offset]) }
            put(" crashed on input #")
            put(number: index)
            put(" (")
            put(number: fullCount)
            put(" bytes): \"")
            for offset in 0..<inputCount {
                let byte = input[offset]
                if byte >= 0x20 && byte < 0x7F && byte != UInt8(ascii: "\\") && byte != UInt8(ascii: "\"") {
                    put(byte)
                } else {
                    put("\\x")
                    put(hex.utf8Start[Int(byte >> 4)])
                    put(hex.utf8Start[Int(byte & 0xF)])
                }
            }
            put(inputCount < fullCount ? "\"...\n" : "\"\n")
            _ = write(2, line, length)
            armed = false
        }
        sigaction(signal, previous + Int(signal), nil)
    }
}
