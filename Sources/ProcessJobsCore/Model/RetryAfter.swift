/// Parses an HTTP Retry-After value: delay-seconds, or an IMF-fixdate
/// ("Sun, 06 Nov 1994 08:49:37 GMT"). A date is measured against the answer's own Date header
/// when present (both from the app's clock), else against `now`. Returns nil for anything else.
public enum RetryAfter {
    public static func seconds(_ value: String, responseDate: String?, now: Double) -> Double? {
        let text = value.trimmingCharacters(in: " ")
        if let seconds = Int(text), seconds >= 0 { return Double(seconds) }
        guard let target = imfFixdate(text) else { return nil }
        let reference = responseDate.flatMap { imfFixdate($0.trimmingCharacters(in: " ")) } ?? now
        return max(0, target - reference)
    }

    /// Unix seconds for an IMF-fixdate, or nil.
    static func imfFixdate(_ text: String) -> Double? {
        let parts = text.split(separator: " ")
        // The year is four digits (RFC 9110), which also keeps the day arithmetic far from
        // overflow: a header saying year 300000000000 is no date, not a trap.
        guard parts.count == 6, parts[0].hasSuffix(","), parts[5] == "GMT",
              parts[3].utf8.count == 4, parts[3].allSatisfy(\.isASCII), parts[3].allSatisfy(\.isNumber),
              let day = Int(parts[1]), let year = Int(parts[3]), year >= 1,
              let month = months.firstIndex(of: String(parts[2])) else { return nil }
        let clock = parts[4].split(separator: ":")
        guard clock.count == 3, let hour = Int(clock[0]), let minute = Int(clock[1]), let second = Int(clock[2]),
              (1...31).contains(day), (0...23).contains(hour), (0...59).contains(minute), (0...60).contains(second)
        else { return nil }
        let days = daysFromCivil(year: year, month: month + 1, day: day)
        return Double(days * 86_400 + hour * 3600 + minute * 60 + second)
    }

    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }
}
