import PostgresClient

/// Which connection `run --listen` LISTENs on. Claims may go through a transaction-mode pooler,
/// LISTEN cannot: `--listen-database-url` (or PROCESS_JOBS_LISTEN_DATABASE_URL) names a separate
/// session connection for it; without either the listener uses the main connection.
public struct ListenDatabaseURL: Equatable, Sendable {
    /// The conninfo to open; nil leaves it to libpq's defaults (PG* variables), as the main one.
    public let conninfo: String?
    /// Where it came from, for messages: "--listen-database-url", "PROCESS_JOBS_LISTEN_DATABASE_URL"
    /// or "the main connection".
    public let source: String

    public static let environmentName = "PROCESS_JOBS_LISTEN_DATABASE_URL"

    /// The listener uses the main URL: claims go through a session the listener's check proved
    /// (not a transaction pooler), so the tick may be prepared there.
    public var isMain: Bool { source == Self.mainSource }
    static let mainSource = "the main connection"

    /// The flag first, then the environment (an empty value counts as unset, as for APP_URL),
    /// then `main`: the conninfo claims use. A password in the flag is refused: argv shows in `ps`.
    public static func resolve(flag: String?, environment: [String: String], main: String?) throws(ConfigError) -> ListenDatabaseURL {
        if let flag {
            guard !flag.isEmpty else { throw .usage("--listen-database-url is empty: give a PostgreSQL URL or conninfo, or leave it out") }
            guard !ConninfoText.hasPassword(flag) else {
                throw .usage("--listen-database-url must not carry a password (anyone can read it in `ps`): put the URL in \(environmentName), or the password in PGPASSWORD or ~/.pgpass")
            }
            return ListenDatabaseURL(conninfo: flag, source: "--listen-database-url")
        }
        if let value = environment[environmentName], !value.isEmpty {
            return ListenDatabaseURL(conninfo: value, source: environmentName)
        }
        return ListenDatabaseURL(conninfo: main, source: mainSource)
    }
}
