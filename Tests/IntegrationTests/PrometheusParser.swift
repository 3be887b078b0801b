import Foundation

/// A strict parser for Prometheus' text exposition format 0.0.4, to check what `--metrics-file`
/// writes without trusting the code that wrote it. It rejects what Prometheus rejects (bad names,
/// bad escapes, bad floats, a TYPE after its samples, duplicate series or label names) and, like
/// `promtool check metrics`, what it would only lint: a family without HELP or TYPE, samples of
/// one family split up, `_total` on a non-counter, a counter without it, a missing final newline.
struct PrometheusExposition {
    struct Sample: Equatable {
        let name: String
        let labels: [String: String]
        let value: Double
        let timestamp: Int64?
    }

    struct Family {
        let name: String
        var help: String?
        var type: String?
        var samples: [Sample] = []
    }

    struct ParseError: Error, CustomStringConvertible {
        let line: Int
        let message: String
        var description: String { "line \(line): \(message)" }
    }

    private(set) var families: [String: Family] = [:]
    private(set) var order: [String] = []

    /// The value of the one sample of `name` with exactly these labels.
    func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
        families[name]?.samples.first { $0.labels == labels }?.value
    }

    init(_ text: String) throws {
        guard text.isEmpty || text.hasSuffix("\n") else { throw ParseError(line: 0, message: "the last line has no newline") }
        var lineNumber = 0
        var current: String?
        var seenSeries = Set<String>()
        var closed = Set<String>()
        for rawLine in text.split(separator: "\n", omittingEmptySubsequences: false).dropLast() {
            lineNumber += 1
            let line = String(rawLine)
            func fail(_ message: String) -> ParseError { ParseError(line: lineNumber, message: "\(message): \(line)") }
            if line.trimmingCharacters(in: .whitespaces).isEmpty { throw fail("blank line") }
            if line.hasPrefix("#") {
                let parts = line.split(separator: " ", maxSplits: 3, omittingEmptySubsequences: false).map(String.init)
                guard parts.count >= 2, parts[0] == "#" else { continue }  // a plain comment
                guard parts[1] == "HELP" || parts[1] == "TYPE" else { continue }
                guard parts.count >= 3, Self.isMetricName(parts[2]) else { throw fail("\(parts[1]) without a valid metric name") }
                let name = parts[2]
                if closed.contains(name) { throw fail("\(name) appears again after other families") }
                if let current, current != name { closed.insert(current) }
                current = name
                var family = families[name] ?? Family(name: name)
                if family.help == nil && family.type == nil && family.samples.isEmpty { order.append(name) }
                if parts[1] == "HELP" {
                    guard family.help == nil else { throw fail("second HELP for \(name)") }
                    family.help = try Self.unescapeHelp(parts.count > 3 ? parts[3] : "", fail)
                } else {
                    guard family.type == nil else { throw fail("second TYPE for \(name)") }
                    guard family.samples.isEmpty else { throw fail("TYPE for \(name) after its samples") }
                    guard parts.count == 4, ["counter", "gauge", "histogram", "summary", "untyped"].contains(parts[3]) else {
                        throw fail("unknown type")
                    }
                    family.type = parts[3]
                }
                families[name] = family
                continue
            }
            let sample = try Self.parseSample(line, fail)
            let familyName = Self.familyName(of: sample.name, families: families)
            if closed.contains(familyName) { throw fail("samples of \(familyName) are split up") }
            if let current, current != familyName { closed.insert(current) }
            current = familyName
            let series = sample.name + "{" + sample.labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",") + "}"
            guard seenSeries.insert(series).inserted else { throw fail("duplicate series") }
            if families[familyName] == nil { order.append(familyName) }
            families[familyName, default: Family(name: familyName)].samples.append(sample)
        }
        for name in order {
            let family = families[name]!
            guard family.help != nil else { throw ParseError(line: 0, message: "\(name) has no HELP") }
            guard let type = family.type else { throw ParseError(line: 0, message: "\(name) has no TYPE") }
            if type == "counter" && !name.hasSuffix("_total") { throw ParseError(line: 0, message: "counter \(name) should end in _total") }
            if type != "counter" && name.hasSuffix("_total") { throw ParseError(line: 0, message: "non-counter \(name) should not end in _total") }
        }
    }

    private static func familyName(of sampleName: String, families: [String: Family]) -> String {
        for suffix in ["_bucket", "_sum", "_count"] where sampleName.hasSuffix(suffix) {
            let base = String(sampleName.dropLast(suffix.count))
            if let type = families[base]?.type, type == "histogram" || type == "summary" { return base }
        }
        return sampleName
    }

    private static func parseSample(_ line: String, _ fail: (String) -> ParseError) throws -> Sample {
        let chars = Array(line.unicodeScalars)
        var index = 0
        var name = ""
        while index < chars.count, chars[index] != "{", chars[index] != " ", chars[index] != "\t" {
            name.unicodeScalars.append(chars[index])
            index += 1
        }
        guard isMetricName(name) else { throw fail("invalid metric name '\(name)'") }
        var labels: [String: String] = [:]
        if index < chars.count, chars[index] == "{" {
            index += 1
            while true {
                guard index < chars.count else { throw fail("unterminated label set") }
                if chars[index] == "}" { index += 1; break }
                var labelName = ""
                while index < chars.count, chars[index] != "=" {
                    labelName.unicodeScalars.append(chars[index])
                    index += 1
                }
                guard isLabelName(labelName) else { throw fail("invalid label name '\(labelName)'") }
                guard index + 1 < chars.count, chars[index] == "=", chars[index + 1] == "\"" else { throw fail("label value not quoted") }
                index += 2
                var value = ""
                while true {
                    guard index < chars.count else { throw fail("unterminated label value") }
                    let c = chars[index]
                    if c == "\"" { index += 1; break }
                    if c == "\\" {
                        guard index + 1 < chars.count else { throw fail("dangling backslash") }
                        switch chars[index + 1] {
                        case "\\": value += "\\"
                        case "\"": value += "\""
                        case "n": value += "\n"
                        default: throw fail("invalid escape \\\(chars[index + 1])")
                        }
                        index += 2
                        continue
                    }
                    value.unicodeScalars.append(c)
                    index += 1
                }
                guard labels[labelName] == nil else { throw fail("label \(labelName) twice") }
                labels[labelName] = value
                guard index < chars.count else { throw fail("unterminated label set") }
                if chars[index] == "," { index += 1 } else if chars[index] != "}" { throw fail("expected , or }") }
            }
        }
        var rest = String(String.UnicodeScalarView(chars[index...]))
        guard rest.first == " " || rest.first == "\t" else { throw fail("no space before the value") }
        rest = rest.trimmingCharacters(in: CharacterSet(charactersIn: " \t"))
        let fields = rest.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        guard fields.count == 1 || fields.count == 2 else { throw fail("expected value [timestamp]") }
        guard let value = goFloat(fields[0]) else { throw fail("invalid value '\(fields[0])'") }
        var timestamp: Int64?
        if fields.count == 2 {
            guard let parsed = Int64(fields[1]) else { throw fail("invalid timestamp") }
            timestamp = parsed
        }
        return Sample(name: name, labels: labels, value: value, timestamp: timestamp)
    }

    /// Go's strconv.ParseFloat syntax as Prometheus accepts it (decimal only here).
    static func goFloat(_ text: String) -> Double? {
        switch text.lowercased() {
        case "+inf", "inf": return .infinity
        case "-inf": return -.infinity
        case "nan": return .nan
        default: break
        }
        let pattern = #"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?$"#
        guard text.range(of: pattern, options: .regularExpression) != nil else { return nil }
        return Double(text)
    }

    static func isMetricName(_ name: String) -> Bool {
        name.range(of: #"^[a-zA-Z_:][a-zA-Z0-9_:]*$"#, options: .regularExpression) != nil
    }

    static func isLabelName(_ name: String) -> Bool {
        name.range(of: #"^[a-zA-Z_][a-zA-Z0-9_]*$"#, options: .regularExpression) != nil && !name.hasPrefix("__")
    }

    private static func unescapeHelp(_ text: String, _ fail: (String) -> ParseError) throws -> String {
        var out = ""
        var escaping = false
        for c in text.unicodeScalars {
            if escaping {
                switch c {
                case "\\": out += "\\"
                case "n": out += "\n"
                default: throw fail("invalid escape in HELP")
                }
                escaping = false
            } else if c == "\\" {
                escaping = true
            } else {
                out.unicodeScalars.append(c)
            }
        }
        if escaping { throw fail("dangling backslash in HELP") }
        return out
    }
}
