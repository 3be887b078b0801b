/// The service-role key sent as the bearer token. Never printed: its description is redacted.
public struct Token: Sendable, CustomStringConvertible {
    public let value: String
    /// Where it came from ("--token-file /etc/...", "SUPABASE_SERVICE_ROLE_KEY"), for messages.
    public let source: String

    public var description: String { "<token from \(source)>" }

    /// Finds the token: --token-file, else $CREDENTIALS_DIRECTORY/service-role-key (systemd
    /// LoadCredential=), else SUPABASE_SERVICE_ROLE_KEY. `warn` hears about a world-readable file.
    public static func load(tokenFile: String?, environment: [String: String],
                            warn: (String) -> Void) throws(ConfigError) -> Token {
        if let tokenFile {
            return try fromFile(tokenFile, source: "--token-file \(tokenFile)", warn: warn, missing: { .usage($0) })
        }
        if let directory = environment["CREDENTIALS_DIRECTORY"], !directory.isEmpty {
            let path = directory + "/service-role-key"
            // A directory without this credential is some other unit's: fall through. A credential
            // that is there but unusable is an error, not a reason to try another source.
            do {
                return try fromFile(path, source: path, warn: warn, missing: { .configuration($0) })
            } catch .configuration(let message) where message.hasSuffix("does not exist") {
            } catch {
                throw error
            }
        }
        if let value = environment["SUPABASE_SERVICE_ROLE_KEY"] {
            return try check(value, source: "SUPABASE_SERVICE_ROLE_KEY")
        }
        throw .configuration("no service-role key: set SUPABASE_SERVICE_ROLE_KEY, pass --token-file PATH, or give systemd a credential named service-role-key")
    }

    /// One trailing newline (as `echo` writes) is dropped; any other control character, a space
    /// or non-ASCII byte is refused: it would corrupt the Authorization header.
    public static func check(_ raw: String, source: String) throws(ConfigError) -> Token {
        var value = Substring(raw)
        // "\r\n" is one Character (one grapheme cluster), so one dropLast() removes either ending.
        if value.hasSuffix("\r\n") || value.hasSuffix("\n") { value = value.dropLast() }
        guard !value.isEmpty else {
            throw .configuration("the service-role key from \(source) is empty")
        }
        guard value.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7F }) else {
            throw .configuration("the service-role key from \(source) contains spaces, line breaks or non-printable characters: write the key alone on one line")
        }
        return Token(value: String(value), source: source)
    }

    /// A token file: a regular file of at most 64 KiB holding the key alone.
    static func fromFile(_ path: String, source: String, warn: (String) -> Void,
                         missing: (String) -> ConfigError) throws(ConfigError) -> Token {
        try check(FileText.secret(path, name: "token file", holding: "the key alone", plain: "the key alone",
                                  warn: warn, missing: missing), source: source)
    }
}
