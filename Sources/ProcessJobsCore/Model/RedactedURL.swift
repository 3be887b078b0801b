/// A URL as it may be printed: credentials ("user:password@") and the query or fragment (where
/// webhook keys live) replaced by `***`. Works on any text, a URL without a scheme or a broken
/// one included, since those are exactly the ones error messages quote.
public enum RedactedURL {
    public static func text(_ url: String) -> String {
        var rest = Substring(url)
        var output = ""
        if let schemeEnd = rest.firstRange(of: "://") {
            output = String(rest[..<schemeEnd.upperBound])
            rest = rest[schemeEnd.upperBound...]
        }
        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? rest.endIndex
        var authority = rest[..<authorityEnd]
        if let at = authority.lastIndex(of: "@") {
            authority = "***@" + authority[authority.index(after: at)...]
        }
        output += authority
        rest = rest[authorityEnd...]
        let query = rest.firstIndex(where: { $0 == "?" || $0 == "#" }) ?? rest.endIndex
        output += redactedUserinfo(inPath: rest[..<query])
        if query < rest.endIndex { output += String(rest[query]) + "***" }
        return output
    }

    /// A text without a scheme may carry "user:password@" after a slash ("/user:pw@host"): in a
    /// path, whatever stands before an "@" in its segment is hidden too.
    private static func redactedUserinfo(inPath path: Substring) -> String {
        path.split(separator: "/", omittingEmptySubsequences: false).map { segment in
            guard let at = segment.lastIndex(of: "@") else { return String(segment) }
            return "***" + segment[at...]
        }.joined(separator: "/")
    }
}
