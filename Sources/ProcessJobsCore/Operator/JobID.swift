/// Job ids as the table holds them: UUIDs. Checked before any statement, so a typo is reported
/// as such instead of as a database error.
public enum JobID {
    /// True for the 8-4-4-4-12 hex form (either case), as PostgreSQL prints a uuid.
    public static func isValid(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard bytes.count == 36 else { return false }
        for (index, byte) in bytes.enumerated() {
            if index == 8 || index == 13 || index == 18 || index == 23 {
                guard byte == UInt8(ascii: "-") else { return false }
            } else {
                let isHex = (byte >= 0x30 && byte <= 0x39) || (byte >= 0x61 && byte <= 0x66) || (byte >= 0x41 && byte <= 0x46)
                guard isHex else { return false }
            }
        }
        return true
    }
}
