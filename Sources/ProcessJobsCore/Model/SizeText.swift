/// Sizes as operators write them: `512KiB`, `10MiB`, `1GiB`, or a plain number of bytes.
public enum SizeText {
    public struct Invalid: Error, CustomStringConvertible {
        public let text: String
        public var description: String {
            "'\(text)' is not a size: use a number of bytes or a number with B, KiB, MiB, GiB or TiB (e.g. 512KiB, 10MiB), at most 1TiB"
        }
    }

    /// 1 TiB: larger is a typo, and sums of sizes stay far from overflowing.
    static let maximum = 1 << 40

    private static let units: [(suffix: String, factor: Double)] = [
        ("KiB", 1024), ("MiB", 1024 * 1024), ("GiB", 1024 * 1024 * 1024), ("TiB", 1024 * 1024 * 1024 * 1024), ("B", 1),
    ]

    public static func bytes(_ text: String) throws(Invalid) -> Int {
        let trimmed = text.trimmingCharacters(in: " ")
        var number = Substring(trimmed)
        var factor = 1.0
        for unit in units where trimmed.hasSuffix(unit.suffix) {
            number = trimmed.dropLast(unit.suffix.count)
            factor = unit.factor
            break
        }
        guard !number.isEmpty, number.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }),
              let value = Double(number), value.isFinite else { throw Invalid(text: text) }
        let bytes = value * factor
        // Whole bytes only: 1.5MiB is fine, 1.0000001B is not.
        guard bytes <= Double(maximum), bytes == bytes.rounded() else { throw Invalid(text: text) }
        return Int(bytes)
    }

    /// "512KiB", "47.7MiB", "100 bytes": compact, for messages; reads back with `bytes`
    /// where it is exact.
    public static func format(_ bytes: Int) -> String {
        for (suffix, factor) in units.dropLast().reversed() where Double(bytes) >= factor {
            let value = Double(bytes) / factor
            let tenths = (value * 10).rounded() / 10
            return tenths == tenths.rounded() ? "\(Int(tenths))\(suffix)" : "\(tenths)\(suffix)"
        }
        return "\(bytes) bytes"
    }
}
