/// Text from the database (job types, error messages, other sessions' queries) made safe to
/// print: a control character would start a forged line (newline, carriage return) or drive the
/// terminal (escape sequences), so each is written as an escape instead.
public enum TerminalText {
    /// `\n`, `\r`, `\t` and `\u{XX}` for the other C0 and C1 controls, DEL, and the Unicode line
    /// and paragraph separators; a backslash itself stays as it is.
    public static func escaped(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: needsEscape) else { return text }
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where needsEscape(scalar): out += "\\u{" + String(scalar.value, radix: 16) + "}"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    private static func needsEscape(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (0x7f...0x9f).contains(scalar.value) || scalar.value == 0x2028 || scalar.value == 0x2029
    }
}
