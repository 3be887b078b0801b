/// The Standard Webhooks signing secret(s): `whsec_` + base64 of the key, several separated by
/// spaces during a rotation (each signs every request). Never printed: its description is redacted.
public struct SigningSecret: Sendable, CustomStringConvertible {
    public let keys: [[UInt8]]
    /// Where it came from ("--signing-secret-file /etc/...", "PROCESS_JOBS_SIGNING_SECRET"), for messages.
    public let source: String

    public var description: String { "<signing secret from \(source)>" }

    /// The spec's lower bound on a key's length.
    static let minimumKeyBytes = 24

    /// The webhook-signature header for one request.
    public func signature(id: String, timestamp: Int, body: String) -> String {
        Signature.header(id: id, timestamp: timestamp, body: body, keys: keys)
    }

    /// Finds the secret: --signing-secret-file, else $CREDENTIALS_DIRECTORY/signing-secret
    /// (systemd LoadCredential=), else PROCESS_JOBS_SIGNING_SECRET; nil when none is given.
    public static func load(file: String?, environment: [String: String],
                            warn: (String) -> Void) throws(ConfigError) -> SigningSecret? {
        if let file {
            return try fromFile(file, source: "--signing-secret-file \(file)", warn: warn, missing: { .usage($0) })
        }
        if let directory = environment["CREDENTIALS_DIRECTORY"], !directory.isEmpty {
            let path = directory + "/signing-secret"
            // As for the token: a directory without this credential is no reason to fail.
            do {
                return try fromFile(path, source: path, warn: warn, missing: { .configuration($0) })
            } catch .configuration(let message) where message.hasSuffix("does not exist") {
            } catch {
                throw error
            }
        }
        if let value = environment["PROCESS_JOBS_SIGNING_SECRET"] {
            return try parse(value, source: "PROCESS_JOBS_SIGNING_SECRET")
        }
        return nil
    }

    /// Secrets separated by spaces (a trailing newline, as `echo` writes, is fine). Messages say
    /// which secret is wrong by its position, never by its text.
    public static func parse(_ raw: String, source: String) throws(ConfigError) -> SigningSecret {
        let words = raw.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\r" || $0 == "\t" })
        guard !words.isEmpty else {
            throw .configuration("the signing secret from \(source) is empty: give one like whsec_ followed by base64")
        }
        var keys: [[UInt8]] = []
        for (index, word) in words.enumerated() {
            let which = words.count == 1 ? "the signing secret from \(source)" : "signing secret \(index + 1) of \(words.count) from \(source)"
            guard word.hasPrefix("whsec_") else {
                throw .configuration("\(which) does not start with whsec_: the format is whsec_ followed by the base64 of the key (Standard Webhooks)")
            }
            guard let key = Base64.decode(String(word.dropFirst(6))) else {
                throw .configuration("\(which) is not whsec_ followed by base64 (A-Z a-z 0-9 + / and = padding): copy it again whole")
            }
            guard key.count >= minimumKeyBytes else {
                throw .configuration("\(which) is a \(key.count)-byte key; Standard Webhooks asks for at least \(minimumKeyBytes) random bytes (e.g. whsec_$(openssl rand -base64 32))")
            }
            keys.append(key)
        }
        return SigningSecret(keys: keys, source: source)
    }

    static func fromFile(_ path: String, source: String, warn: (String) -> Void,
                         missing: (String) -> ConfigError) throws(ConfigError) -> SigningSecret {
        try parse(FileText.secret(path, name: "signing secret file", holding: "the secrets alone", plain: "the secret",
                                  warn: warn, missing: missing), source: source)
    }
}
