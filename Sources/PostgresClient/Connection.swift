#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CLibPQ

/// One libpq connection. Statements go out with PQexecParams only: unnamed, parameterised,
/// so they work behind a transaction-mode pooler (no named prepared statements, no session state).
public final class Connection {
    private let conn: OpaquePointer
    /// Statements sent since the connection opened; the run reports round trips per job with it.
    public private(set) var roundTrips = 0

    /// Opens a connection. `conninfo` is a URI or key=value string; nil leaves everything to
    /// libpq's defaults (PGHOST, PGPORT, PGUSER, PGPASSWORD, PGSERVICE, .pgpass, ...).
    public init(conninfo: String?, defaultConnectTimeout: Int = 10,
                applicationName: String = "process-jobs") throws(PostgresError) {
        var keys: [String] = ["fallback_application_name"]
        var values: [String] = [applicationName]
        // An explicit PGCONNECT_TIMEOUT or connect_timeout in the URL wins over our default.
        if getenv("PGCONNECT_TIMEOUT") == nil {
            keys.append("connect_timeout")
            values.append(String(defaultConnectTimeout))
        }
        if let conninfo, !conninfo.isEmpty {
            keys.append("dbname")  // expanded by libpq: later keys override earlier ones
            values.append(conninfo)
        }
        let opened: OpaquePointer? = withCStrings(keys) { keyPointers in
            withCStrings(values) { valuePointers in
                PQconnectdbParams(keyPointers, valuePointers, 1)
            }
        }
        guard let opened else {
            throw PostgresError(kind: .connect, sqlState: nil, message: "out of memory", connectionLost: true)
        }
        guard PQstatus(opened) == CONNECTION_OK else {
            let message = Connection.cleanMessage(PQerrorMessage(opened))
            PQfinish(opened)
            throw PostgresError(kind: .connect, sqlState: nil, message: message, connectionLost: true)
        }
        conn = opened
        // Server NOTICEs ("relation already exists, skipping") are not for the operator's terminal.
        PQsetNoticeProcessor(conn, { _, _ in }, nil)
    }

    deinit { PQfinish(conn) }

    /// "host:port/database as user": where we are connected, without the password.
    public var endpoint: String {
        func string(_ pointer: UnsafeMutablePointer<CChar>?) -> String {
            pointer.map { String(cString: $0) } ?? "?"
        }
        let host = string(PQhost(conn))
        let shownHost = host.hasPrefix("/") ? "socket \(host)" : host
        return "\(shownHost):\(string(PQport(conn)))/\(string(PQdb(conn))) as \(string(PQuser(conn)))"
    }

    /// The server's version as an integer, e.g. 150004.
    public var serverVersion: Int { Int(PQserverVersion(conn)) }

    /// Runs one statement with text parameters ($1, $2, ...) and returns its rows.
    @discardableResult
    public func query(_ sql: String, _ parameters: [String?] = []) throws(PostgresError) -> Rows {
        roundTrips += 1
        let result: OpaquePointer? = withOptionalCStrings(parameters) { pointers in
            PQexecParams(conn, sql, Int32(parameters.count), nil, pointers, nil, nil, 0)
        }
        defer { PQclear(result) }
        guard let result else { throw lastError() }
        switch PQresultStatus(result) {
        case PGRES_TUPLES_OK, PGRES_COMMAND_OK:
            return Connection.rows(of: result)
        default:
            throw error(from: result)
        }
    }

    /// Sends one statement without waiting for its answer: collect it with `pollResult()` once
    /// `socket` is readable. Lets the caller keep other work (HTTP) moving during the round trip.
    public func send(_ sql: String, _ parameters: [String?] = []) throws(PostgresError) {
        roundTrips += 1
        let sent = withOptionalCStrings(parameters) { pointers in
            PQsendQueryParams(conn, sql, Int32(parameters.count), nil, pointers, nil, nil, 0)
        }
        guard sent == 1 else { throw lastError() }
    }

    /// The connection's socket, to wait on for the answer of `send`.
    public var socket: Int32 { PQsocket(conn) }

    /// Reads what has arrived; the statement's rows once the whole answer is in, else nil.
    public func pollResult() throws(PostgresError) -> Rows? {
        guard PQconsumeInput(conn) == 1 else { throw lastError() }
        guard PQisBusy(conn) == 0 else { return nil }
        var outcome: Result<Rows, PostgresError>?
        // Drain every result of the statement (the last is NULL) so the connection is free again.
        while let result = PQgetResult(conn) {
            defer { PQclear(result) }
            guard outcome == nil else { continue }
            switch PQresultStatus(result) {
            case PGRES_TUPLES_OK, PGRES_COMMAND_OK: outcome = .success(Connection.rows(of: result))
            default: outcome = .failure(error(from: result))
            }
        }
        guard let outcome else { throw lastError() }
        return try outcome.get()
    }

    /// Runs a script of several statements with no parameters (the migration), in one round trip.
    public func execute(script: String) throws(PostgresError) {
        roundTrips += 1
        let result = PQexec(conn, script)
        defer { PQclear(result) }
        guard let result else { throw lastError() }
        switch PQresultStatus(result) {
        case PGRES_TUPLES_OK, PGRES_COMMAND_OK, PGRES_EMPTY_QUERY: return
        default:
            let error = error(from: result)
            // A failed script leaves its transaction aborted; end it so the connection stays usable.
            if PQstatus(conn) == CONNECTION_OK { _ = PQexec(conn, "ROLLBACK").map { PQclear($0) } }
            throw error
        }
    }

    /// Runs `body` inside BEGIN/COMMIT, rolling back when it throws.
    public func transaction<T>(_ body: (Connection) throws(PostgresError) -> T) throws(PostgresError) -> T {
        try query("BEGIN")
        do {
            let value = try body(self)
            try query("COMMIT")
            return value
        } catch {
            if PQstatus(conn) == CONNECTION_OK { _ = try? query("ROLLBACK") }
            throw error
        }
    }

    private static func rows(of result: OpaquePointer) -> Rows {
        let columnCount = PQnfields(result)
        let rowCount = PQntuples(result)
        var columns: [String] = []
        columns.reserveCapacity(Int(columnCount))
        for column in 0..<columnCount {
            columns.append(String(cString: PQfname(result, column)))
        }
        var values: [[String?]] = []
        values.reserveCapacity(Int(rowCount))
        for row in 0..<rowCount {
            var fields: [String?] = []
            fields.reserveCapacity(Int(columnCount))
            for column in 0..<columnCount {
                if PQgetisnull(result, row, column) == 1 {
                    fields.append(nil)
                } else {
                    fields.append(String(cString: PQgetvalue(result, row, column)))
                }
            }
            values.append(fields)
        }
        let affected = Int(String(cString: PQcmdTuples(result))) ?? 0
        return Rows(columns: columns, values: values, affected: affected)
    }

    private func error(from result: OpaquePointer) -> PostgresError {
        let state = PQresultErrorField(result, Int32(UInt8(ascii: "C"))).map { String(cString: $0) }
        let primary = PQresultErrorField(result, Int32(UInt8(ascii: "M"))).map { String(cString: $0) }
        let lost = PQstatus(conn) != CONNECTION_OK
        let message = primary ?? Connection.cleanMessage(PQresultErrorMessage(result))
        return PostgresError(kind: .query, sqlState: state, message: message, connectionLost: lost)
    }

    private func lastError() -> PostgresError {
        PostgresError(kind: .query, sqlState: nil, message: Connection.cleanMessage(PQerrorMessage(conn)),
                      connectionLost: PQstatus(conn) != CONNECTION_OK)
    }

    /// libpq messages end in newlines and may span lines; an operator's log wants one line.
    static func cleanMessage(_ pointer: UnsafeMutablePointer<CChar>?) -> String {
        guard let pointer else { return "unknown libpq error" }
        let lines = String(cString: pointer).split(whereSeparator: \.isNewline)
            .map { $0.trimmingSpaces() }.filter { !$0.isEmpty }
        return lines.isEmpty ? "unknown libpq error" : lines.joined(separator: "; ")
    }
}

private extension Substring {
    func trimmingSpaces() -> String {
        String(drop(while: { $0 == " " || $0 == "\t" }).reversed().drop(while: { $0 == " " || $0 == "\t" }).reversed())
    }
}

/// Passes Swift strings to C as a NULL-terminated array of C strings, alive for the closure only.
private func withCStrings<R>(_ strings: [String], _ body: ([UnsafePointer<CChar>?]) -> R) -> R {
    let copies = strings.map { strdup($0) }
    defer { copies.forEach { free($0) } }
    return body(copies.map { UnsafePointer($0) } + [nil])
}

private func withOptionalCStrings<R>(_ strings: [String?], _ body: ([UnsafePointer<CChar>?]) -> R) -> R {
    let copies = strings.map { $0.map { strdup($0) } ?? nil }
    defer { copies.forEach { free($0) } }
    return body(copies.map { UnsafePointer($0) })
}
