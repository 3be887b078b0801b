/// What process-jobs knows about a connection string without parsing it as libpq does: where a
/// password sits (so no message prints it) and mistakes libpq would report with a part of it.
public enum ConninfoText {
    /// The password as it may appear in libpq's messages: raw, percent-decoded, and the pieces
    /// of a password holding an unencoded "@" (libpq would take the rest for the host name).
    public static func secrets(in conninfo: String) -> [String] {
        var found: [String] = []
        if let scheme = conninfo.firstRange(of: "://") {
            let rest = conninfo[scheme.upperBound...]
            let beforeQuery = rest.firstIndex(of: "?").map { rest[..<$0] } ?? rest
            if let at = beforeQuery.lastIndex(of: "@") {
                let userInfo = beforeQuery[..<at]
                if let colon = userInfo.firstIndex(of: ":") {
                    let password = String(userInfo[userInfo.index(after: colon)...])
                    found.append(password)
                    found += password.split(separator: "@").map(String.init).filter { $0.count >= 3 }
                }
            }
            if let question = rest.firstIndex(of: "?") {
                for pair in rest[rest.index(after: question)...].split(separator: "&") where pair.hasPrefix("password=") {
                    found.append(String(pair.dropFirst("password=".count)))
                }
            }
        } else {
            found += keywordValues(in: conninfo, key: "password")
        }
        found += found.compactMap(percentDecoded)
        return Array(Set(found.filter { !$0.isEmpty })).sorted { $0.count > $1.count }
    }

    /// Whether the connection string carries a password.
    public static func hasPassword(_ conninfo: String) -> Bool { !secrets(in: conninfo).isEmpty }

    /// `message` with every secret replaced by "***".
    public static func redact(_ message: String, secrets: [String]) -> String {
        var text = message
        for secret in secrets where text.firstRange(of: secret) != nil {
            text = text.replacingAll(secret, with: "***")
        }
        return text
    }

    /// A mistake libpq would report by echoing part of the password, said without it.
    public static func problem(in conninfo: String) -> String? {
        guard let scheme = conninfo.firstRange(of: "://") else { return nil }
        let rest = conninfo[scheme.upperBound...]
        let beforeQuery = rest.firstIndex(of: "?").map { rest[..<$0] } ?? rest
        if beforeQuery.filter({ $0 == "@" }).count > 1 {
            return "the database URL has more than one \"@\" before the host: percent-encode \"@\" in the user name or password as %40"
        }
        return nil
    }

    /// Values of `key` in a key=value conninfo ('quoted' or bare; an unterminated quote runs to the end).
    static func keywordValues(in conninfo: String, key: String) -> [String] {
        var values: [String] = []
        var rest = Substring(conninfo)
        while let range = rest.firstRange(of: key) {
            let before = rest[..<range.lowerBound].last
            var after = rest[range.upperBound...].drop(while: { $0 == " " })
            rest = rest[range.upperBound...]
            guard before == nil || before == " " || before == "\t", after.first == "=" else { continue }
            after = after.dropFirst().drop(while: { $0 == " " })
            if after.first == "'" {
                let quoted = after.dropFirst()
                values.append(String(quoted.prefix { $0 != "'" }))
            } else {
                values.append(String(after.prefix { $0 != " " && $0 != "\t" }))
            }
        }
        return values
    }

    static func percentDecoded(_ text: String) -> String? {
        guard text.contains("%") else { return nil }
        var bytes: [UInt8] = []
        var utf8 = Array(text.utf8)[...]
        while let byte = utf8.popFirst() {
            if byte == UInt8(ascii: "%"), utf8.count >= 2,
               let value = UInt8(String(decoding: utf8.prefix(2), as: UTF8.self), radix: 16) {
                bytes.append(value)
                utf8 = utf8.dropFirst(2)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

private extension String {
    func replacingAll(_ target: String, with replacement: String) -> String {
        var result = ""
        var rest = Substring(self)
        while let range = rest.firstRange(of: target) {
            result += rest[..<range.lowerBound] + replacement
            rest = rest[range.upperBound...]
        }
        return result + rest
    }
}
