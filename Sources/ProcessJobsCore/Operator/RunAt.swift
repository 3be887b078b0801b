/// When an enqueued job may first run (`enqueue --run-at`): an RFC 3339 time with its offset
/// ("2025-01-31T09:00:00Z", "2025-01-31 10:00:00.5+01:00"), or a duration from now ("+5m",
/// "+90", "now"). A relative time is added to the database's clock, not this host's, as every
/// time the run writes is; an absolute one is checked here and sent as Unix seconds, so the
/// database's own (more lenient) date parsing never guesses.
public struct RunAt: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        case absolute
        case relative
    }

    public let kind: Kind
    /// Unix seconds (absolute) or seconds from now (relative).
    public let seconds: Double

    public init(kind: Kind, seconds: Double) {
        self.kind = kind
        self.seconds = seconds
    }

    public struct Invalid: Error, CustomStringConvertible {
        public let text: String
        public var description: String {
            "--run-at '\(text)' is neither an RFC 3339 time with an offset (e.g. 2025-01-31T09:00:00Z) nor +DURATION from now (e.g. +5m, +2h)"
        }
    }

    public static func parse(_ text: String) throws(Invalid) -> RunAt {
        let trimmed = text.trimmingCharacters(in: " ")
        if trimmed == "now" { return RunAt(kind: .relative, seconds: 0) }
        if trimmed.hasPrefix("+") {
            do {
                return RunAt(kind: .relative, seconds: try DurationText.seconds(String(trimmed.dropFirst())))
            } catch {
                throw Invalid(text: text)
            }
        }
        guard let unix = rfc3339(trimmed) else { throw Invalid(text: text) }
        return RunAt(kind: .absolute, seconds: unix)
    }

    /// The statement's parameter: seconds with millisecond precision.
    var parameter: String { NumberText.fixed(seconds, decimals: 3) }

    /// Unix seconds of an RFC 3339 date-time (section 5.6): YYYY-MM-DD, "T" (or "t" or a space),
    /// hh:mm:ss with an optional fraction, then "Z" or ±hh:mm. Nil for anything else.
    static func rfc3339(_ text: String) -> Double? {
        let chars = Array(text.utf8)
        var index = 0
        func digits(_ count: Int) -> Int? {
            guard index + count <= chars.count else { return nil }
            var value = 0
            for byte in chars[index..<index + count] {
                guard byte >= 0x30 && byte <= 0x39 else { return nil }
                value = value * 10 + Int(byte - 0x30)
            }
            index += count
            return value
        }
        func expect(_ allowed: String) -> Bool {
            guard index < chars.count, allowed.utf8.contains(chars[index]) else { return false }
            index += 1
            return true
        }
        guard let year = digits(4), expect("-"), let month = digits(2), expect("-"), let day = digits(2),
              expect("Tt "), let hour = digits(2), expect(":"), let minute = digits(2), expect(":"),
              let second = digits(2) else { return nil }
        var fraction = 0.0
        if index < chars.count, chars[index] == UInt8(ascii: ".") {
            index += 1
            var scale = 0.1
            let start = index
            while index < chars.count, chars[index] >= 0x30 && chars[index] <= 0x39 {
                fraction += Double(chars[index] - 0x30) * scale
                scale /= 10
                index += 1
            }
            guard index > start else { return nil }
        }
        var offset = 0
        if expect("Zz") {
            offset = 0
        } else if index < chars.count, chars[index] == UInt8(ascii: "+") || chars[index] == UInt8(ascii: "-") {
            let sign = chars[index] == UInt8(ascii: "-") ? -1 : 1
            index += 1
            guard let offsetHours = digits(2), expect(":"), let offsetMinutes = digits(2),
                  offsetHours <= 23, offsetMinutes <= 59 else { return nil }
            offset = sign * (offsetHours * 3600 + offsetMinutes * 60)
        } else {
            return nil
        }
        guard index == chars.count, (1...12).contains(month),
              (1...TimeText.daysInMonth(year: year, month: month)).contains(day),
              hour <= 23, minute <= 59, second <= 60 else { return nil }
        let days = RetryAfter.daysFromCivil(year: year, month: month, day: day)
        return Double(days * 86_400 + hour * 3600 + minute * 60 + second - offset) + fraction
    }
}
