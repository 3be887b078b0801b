/// An error from libpq or the server. It carries the SQLSTATE and the server's primary message,
/// never the connection string, the statement or its parameters (which may hold secrets).
public struct PostgresError: Error, CustomStringConvertible, Sendable {
    public enum Kind: Sendable {
        /// The connection could not be opened.
        case connect
        /// A statement failed, or the connection broke while it ran.
        case query
    }

    public let kind: Kind
    /// Five-character SQLSTATE when the server sent one ("08006", "42P01", ...).
    public let sqlState: String?
    public let message: String
    /// True when the connection itself is gone (server restart, network): the run cannot go on.
    public let connectionLost: Bool

    public init(kind: Kind, sqlState: String?, message: String, connectionLost: Bool) {
        self.kind = kind
        self.sqlState = sqlState
        self.message = message
        self.connectionLost = connectionLost
    }

    public var description: String {
        if let sqlState { return "\(message) (SQLSTATE \(sqlState))" }
        return message
    }

    /// Whether waiting and trying again may help: the server is down, restarting, overloaded,
    /// or the transaction lost a race. Anything else (bad password, missing database or table,
    /// missing privilege) needs a person.
    public var isTransient: Bool {
        if connectionLost && kind == .query { return true }
        if let sqlState {
            let transientClasses: Set<Substring> = ["08", "53", "57", "40", "58"]
            if sqlState == "57014" { return false }  // query_canceled by statement_timeout: a real problem
            return transientClasses.contains(sqlState.prefix(2))
        }
        guard kind == .connect else { return false }
        // libpq gives no SQLSTATE for a failed connection; the server's FATAL text tells a refusal
        // (authentication, unknown database or role: configuration) from a passing state.
        let text = message.lowercased()
        let passing = ["starting up", "shutting down", "in recovery", "too many clients",
                       "remaining connection slots", "not yet accepting connections"]
        if passing.contains(where: text.contains) { return true }
        return !text.contains("fatal:")
    }
}
