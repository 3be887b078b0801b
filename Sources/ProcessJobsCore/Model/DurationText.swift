/// Durations as operators write them: `30s`, `5m`, `2h`, `7d`, `250ms`, or a bare number of seconds.
public enum DurationText {
    public struct Invalid: Error, CustomStringConvertible {
        public let text: String
        public var description: String {
            "'\(text)' is not a duration: use a number of seconds or a number with s, m, h, d or ms (e.g. 30s, 5m, 7d), at most ten years"
        }
    }

    /// Ten years: longer is a typo, and would overflow the millisecond arithmetic downstream.
    static let maximum: Double = 10 * 365 * 86_400

    public static func seconds(_ text: String) throws(Invalid) -> Double {
        let trimmed = text.trimmingCharacters(in: " ")
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600), ("d", 86_400)]
        var number = Substring(trimmed)
        var scale = 1.0
        for (suffix, factor) in units where trimmed.hasSuffix(suffix) {
            number = trimmed.dropLast(suffix.count)
            scale = factor
            break
        }
        guard !number.isEmpty, number.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }),
              let value = Double(number), value.isFinite, value * scale <= maximum else { throw Invalid(text: text) }
        return value * scale
    }

    /// "1.5s", "2m", "3h": compact, for messages. Any number: differences of row timestamps
    /// (an 'infinity' run_at) come here too.
    public static func format(_ seconds: Double) -> String {
        guard seconds.isFinite else { return seconds.isNaN ? "unknown" : seconds > 0 ? "infinity" : "-infinity" }
        if seconds < 0 { return "-" + format(-seconds) }
        if seconds < 1 { return "\(Int((seconds * 1000).rounded()))ms" }
        if seconds < 120 { return seconds == seconds.rounded() ? "\(Int(seconds))s" : "\((seconds * 10).rounded() / 10)s" }
        if seconds < 7200 { return "\(Int((seconds / 60).rounded()))m" }
        if seconds < 172_800 { return "\(Int((seconds / 3600).rounded()))h" }
        return "\(NumberText.fixed((seconds / 86_400).rounded(), decimals: 0))d"
    }
}
