/// Times as operators read and write them: RFC 3339 in UTC, and "5m ago" / "in 4m".
public enum TimeText {
    /// "2025-01-31T09:00:00Z" for Unix seconds (whole seconds, UTC). A row may hold 'infinity':
    /// beyond whole seconds' range the text is PostgreSQL's.
    public static func rfc3339(_ unix: Double) -> String {
        guard unix.isFinite, abs(unix) < 1e16 else { return unix.isNaN ? "unknown" : unix > 0 ? "infinity" : "-infinity" }
        let seconds = Int64(unix.rounded(.down))
        let days = floorDivide(seconds, 86_400)
        let inDay = Int(seconds - days * 86_400)
        let (year, month, day) = civil(fromDays: Int(days))
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T\(pad(inDay / 3600, 2)):\(pad(inDay % 3600 / 60, 2)):\(pad(inDay % 60, 2))Z"
    }

    /// "42s ago", "3h ago", "in 4m", "now": a time relative to now, for tables; whole seconds
    /// from 10s up.
    public static func relative(_ seconds: Double) -> String {
        if abs(seconds) < 0.5 { return "now" }
        let magnitude = abs(seconds) >= 10 ? abs(seconds).rounded() : abs(seconds)
        return seconds < 0 ? "\(DurationText.format(magnitude)) ago" : "in \(DurationText.format(magnitude))"
    }

    /// Year, month, day of a day count since 1970-01-01 (Howard Hinnant's civil_from_days).
    static func civil(fromDays days: Int) -> (year: Int, month: Int, day: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    static func daysInMonth(year: Int, month: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    private static func floorDivide(_ a: Int64, _ b: Int64) -> Int64 {
        a >= 0 ? a / b : -((-a + b - 1) / b)
    }

    private static func pad(_ number: Int, _ width: Int) -> String {
        let text = String(number)
        return text.count >= width ? text : String(repeating: "0", count: width - text.count) + text
    }
}
