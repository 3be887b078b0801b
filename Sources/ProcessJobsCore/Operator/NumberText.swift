/// Numbers written for people and parsers alike: fixed decimals, no exponent, no locale.
public enum NumberText {
    /// `value` with at most `decimals` digits after the point, trailing zeros dropped
    /// ("1.5", "42", "1732380000.123"). Not for NaN or infinities. Beyond 10^15 (far past any
    /// count or timestamp here) Swift's shortest form is used, which may have an exponent
    /// ("1e+20"): still valid JSON and Prometheus syntax.
    public static func fixed(_ value: Double, decimals: Int = 3) -> String {
        precondition(value.isFinite && (0...9).contains(decimals))
        guard abs(value) < 1e15 else { return value.description }
        // Fewer decimals for large values, where a double has no more precision to show anyway.
        var decimals = decimals
        while decimals > 0 && abs(value) * pow10(decimals) >= 9.0e18 { decimals -= 1 }
        var scale: Int64 = 1
        for _ in 0..<decimals { scale *= 10 }
        let scaled = (value * Double(scale)).rounded()
        let units = Int64(scaled)
        let negative = units < 0
        let magnitude = negative ? -units : units
        var text = String(magnitude / scale)
        var fraction = String(magnitude % scale)
        if decimals > 0 {
            fraction = String(repeating: "0", count: decimals - fraction.count) + fraction
            while fraction.last == "0" { fraction.removeLast() }
            if !fraction.isEmpty { text += "." + fraction }
        }
        return negative && magnitude != 0 ? "-" + text : text
    }

    private static func pow10(_ n: Int) -> Double {
        var result = 1.0
        for _ in 0..<n { result *= 10 }
        return result
    }
}
