/// An error from libpq or the server. It carries the SQLSTATE and the server's primary message,
/// never the connection string's password, the statement or its parameters (which may hold secrets).
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
    /// True when the server did not answer within --db-timeout (or a second after a stop request).
    public let timedOut: Bool

    public init(kind: Kind, sqlState: String?, message: String, connectionLost: Bool, timedOut: Bool = false) {
        self.kind = kind
        self.sqlState = sqlState
        self.message = message
        self.connectionLost = connectionLost
        self.timedOut = timedOut
    }

    public var description: String {
        if let sqlState { return "\(message) (SQLSTATE \(sqlState))" }
        return message
    }

    /// Whether waiting and trying again may help: the server is down, restarting, overloaded,
    /// not answering, or the transaction lost a race. Anything else (bad password, TLS, a bad
    /// parameter, missing database or table, missing privilege) needs a person.
    public var isTransient: Bool {
        if timedOut { return true }
        if connectionLost && kind == .query { return true }
        if let sqlState {
            if sqlState == SQLState.queryCanceled { return false }  // by statement_timeout: a real problem
            return SQLState.transientClasses.contains(sqlState.prefix(2))
        }
        guard kind == .connect else { return false }
        return PostgresError.notReachableNow(message)
    }

    /// libpq gives no SQLSTATE for a failed connection: its text tells "not reachable now"
    /// (refused, reset, the server starting, stopping or full, a pooler that cannot reach it)
    /// from everything else, which is configuration.
    static func notReachableNow(_ message: String) -> Bool {
        let text = message.lowercased()
        let passing = ["connection refused", "connection reset", "timeout expired", "timed out",
                       "network is unreachable", "no route to host", "temporary failure in name resolution",
                       "server closed the connection unexpectedly", "could not receive data from server",
                       "the database system is", "starting up", "shutting down", "in recovery",
                       "not yet accepting connections", "cannot connect now",
                       "too many clients", "too many connections", "remaining connection slots",
                       "no more connections allowed", "pgbouncer cannot connect to server", "query_wait_timeout"]
        if passing.contains(where: text.contains) { return true }
        // A Unix socket that is not there: the local server is not running (now).
        return text.contains("on socket") && text.contains("no such file or directory")
    }
}
