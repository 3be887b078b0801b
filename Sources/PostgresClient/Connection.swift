#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CLibPQ
import Dispatch

/// One libpq connection. Statements go out with PQsendQueryParams: unnamed, parameterised, so
/// they work behind a transaction-mode pooler (no named prepared statements, no session state);
/// only listen mode's own session prepares its tick (`preparesRepeatedStatements`).
/// Every wait is a poll() with a deadline (`timeout` from its start): connecting, sending and each
/// answer. When it passes, a cancel request stops the statement on the server too, and the
/// connection is given up; no SET, so the bound holds behind a pooler.
public final class Connection {
    /// The libpq handle; internal so Notifications.swift can read notifications from it.
    let conn: OpaquePointer
    /// Statements sent since the connection opened; the run reports round trips per job with it.
    public private(set) var roundTrips = 0
    /// How long connecting and each statement may wait for the server (--db-timeout).
    public let timeout: Double
    /// Where a stop request shows, so a wait on the database acts on it.
    public var stop: StopCheck?
    /// The server's encoding (UTF8, SQL_ASCII, LATIN1, ...): text sent must fit it.
    public private(set) var serverEncoding = "UTF8"
    /// The password as it may appear in libpq's messages, which must never print it.
    private let secrets: [String]
    /// When the statement out must have its answer (monotonic seconds).
    private var deadline: Double?
    private var statementStarted = 0.0
    private var stopNoticed: Double?
    /// Set once a statement was given up: its answer may still come, so nothing else may be sent.
    private var abandoned = false

    /// After a stop request, a wait on the database lasts at most this long more.
    public static let stopWait = 0.75

    /// A descriptor that becomes readable on a stop request, and whether one was made.
    public struct StopCheck {
        public let descriptor: Int32
        public let requested: () -> Bool

        public init(descriptor: Int32, requested: @escaping () -> Bool) {
            self.descriptor = descriptor
            self.requested = requested
        }
    }

    /// Opens a connection within `timeout` seconds. `conninfo` is a URI or key=value string; nil
    /// leaves everything to libpq's defaults (PGHOST, PGPORT, PGUSER, PGPASSWORD, PGSERVICE,
    /// .pgpass, ...). The client encoding is always UTF8: Swift strings are UTF-8.
    public init(conninfo: String?, timeout: Double = 30, stop: StopCheck? = nil,
                applicationName: String = "process-jobs") throws(PostgresError) {
        self.timeout = timeout
        self.stop = stop
        secrets = ConninfoText.secrets(in: conninfo ?? "")
        if let conninfo, let problem = ConninfoText.problem(in: conninfo) {
            throw PostgresError(kind: .connect, sqlState: nil, message: problem, connectionLost: true)
        }
        var keys: [String] = ["fallback_application_name"]
        var values: [String] = [applicationName]
        if let conninfo, !conninfo.isEmpty {
            keys.append("dbname")  // expanded by libpq: later keys override earlier ones
            values.append(conninfo)
        }
        keys.append("client_encoding")
        values.append("UTF8")
        let started: OpaquePointer? = withCStrings(keys) { keyPointers in
            withCStrings(values) { valuePointers in
                PQconnectStartParams(keyPointers, valuePointers, 1)
            }
        }
        guard let started else {
            throw PostgresError(kind: .connect, sqlState: nil, message: "out of memory", connectionLost: true)
        }
        conn = started  // from here on deinit closes it, also when connecting fails
        try finishConnecting()
        serverEncoding = PQparameterStatus(conn, "server_encoding").map { String(cString: $0) } ?? "UTF8"
        // Nonblocking: a statement too large for the socket buffer is flushed under the deadline.
        PQsetnonblocking(conn, 1)
        // Server NOTICEs ("relation already exists, skipping") are not for the operator's terminal.
        PQsetNoticeProcessor(conn, { _, _ in }, nil)
    }

    deinit { PQfinish(conn) }

    /// PQconnectPoll until connected, each wait a poll() on the socket until the deadline.
    private func finishConnecting() throws(PostgresError) {
        guard PQstatus(conn) != CONNECTION_BAD else { throw connectError() }
        let start = Clock.now()
        var deadline = waitDeadline(from: start)
        // libpq applies connect_timeout (or PGCONNECT_TIMEOUT) only when it blocks: honour it here.
        if let connectTimeout = option("connect_timeout").flatMap(Double.init), connectTimeout > 0 {
            deadline = min(deadline, start + max(2, connectTimeout))
        }
        var state = PGRES_POLLING_WRITING
        while true {
            switch state {
            case PGRES_POLLING_OK:
                return
            case PGRES_POLLING_FAILED:
                throw connectError()
            default:
                let events = state == PGRES_POLLING_READING ? POLLIN : POLLOUT
                guard try waitFor(Int16(events), until: deadline) else {
                    let message = "the database did not answer within \(Connection.format(deadline - start)) while connecting (--db-timeout, or connect_timeout)"
                    throw PostgresError(kind: .connect, sqlState: nil, message: message, connectionLost: true, timedOut: true)
                }
            }
            state = PQconnectPoll(conn)
        }
    }

    /// The value libpq settled on for a connection option (from the URL, the environment or its default).
    private func option(_ keyword: String) -> String? {
        guard let options = PQconninfo(conn) else { return nil }
        defer { PQconninfoFree(options) }
        var option = options
        while let name = option.pointee.keyword {
            if String(cString: name) == keyword { return option.pointee.val.map { String(cString: $0) } }
            option += 1
        }
        return nil
    }

    private func connectError() -> PostgresError {
        PostgresError(kind: .connect, sqlState: nil, message: clean(PQerrorMessage(conn)), connectionLost: true)
    }

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
        try send(sql, parameters)
        return try waitResult()
    }

    /// Sends one statement without waiting for its answer: collect it with `pollResult()` once
    /// `socket` is readable (or with `waitResult()`). Lets the caller keep other work (HTTP)
    /// moving during the round trip.
    public func send(_ sql: String, _ parameters: [String?] = []) throws(PostgresError) {
        try checkUsable()
        roundTrips += 1
        let sent = withOptionalCStrings(parameters) { pointers in
            PQsendQueryParams(conn, sql, Int32(parameters.count), nil, pointers, nil, nil, 0)
        }
        guard sent == 1 else { throw lastError() }
        try flushSent()
    }

    /// Listen mode's main connection, a session of its own (never behind a transaction pooler:
    /// the listener's check proved the URL keeps sessions): `sendRepeated` prepares each text
    /// once and sends it by name after that, so the server parses and plans it once per
    /// connection, not once per claim. Off everywhere else.
    ///
    /// Before its first statement is prepared the session is set to plan them generically
    /// (`plan_cache_mode`, PostgreSQL 12 on): left to choose, the server keeps planning the tick
    /// for each claim's values, because its generic cost estimate is higher, and that planning
    /// is most of a notified claim's time. The generic plan measured no slower anywhere: with
    /// 1,000,000 due rows, 1,000,000 finished ones or 10,000 users (docs/listen.md).
    public var preparesRepeatedStatements = false
    /// The texts prepared on this connection, by name.
    private var prepared: [String: String] = [:]

    /// As `send`, for a statement the caller sends again and again (the tick): prepared once on a
    /// connection that `preparesRepeatedStatements`, else sent unnamed.
    public func sendRepeated(_ sql: String, _ parameters: [String?]) throws(PostgresError) {
        guard preparesRepeatedStatements else { return try send(sql, parameters) }
        let name: String
        if let known = prepared[sql] {
            name = known
        } else {
            name = "process_jobs_\(prepared.count + 1)"
            if prepared.isEmpty, PQserverVersion(conn) >= 120_000 {
                _ = try query("SET plan_cache_mode = force_generic_plan")
            }
            try checkUsable()
            roundTrips += 1
            guard PQsendPrepare(conn, name, sql, Int32(parameters.count), nil) == 1 else { throw lastError() }
            try flushSent()
            _ = try waitResult()
            prepared[sql] = name
        }
        try checkUsable()
        roundTrips += 1
        let sent = withOptionalCStrings(parameters) { pointers in
            PQsendQueryPrepared(conn, name, Int32(parameters.count), pointers, nil, nil, 0)
        }
        guard sent == 1 else { throw lastError() }
        try flushSent()
    }

    /// The connection's socket, to wait on for the answer of `send`.
    public var socket: Int32 { PQsocket(conn) }

    /// Seconds left until the statement out is given up (nil when none is out): a caller that
    /// waits on `socket` itself wakes by then and calls `pollResult()`.
    public var secondsLeft: Double? {
        deadline.map { max(0, $0 - Clock.now()) }
    }

    /// Reads what has arrived; the statement's rows once the whole answer is in, else nil. Past
    /// the deadline (or a second after a stop request) it cancels the statement and throws.
    public func pollResult() throws(PostgresError) -> Rows? {
        noticeStop()
        guard PQconsumeInput(conn) == 1 else { throw lastError() }
        if PQisBusy(conn) == 0 { return try collect() }
        if let deadline, Clock.now() >= deadline { throw giveUp() }
        return nil
    }

    /// Waits for the answer of the statement out, until its deadline.
    public func waitResult() throws(PostgresError) -> Rows {
        while true {
            if let rows = try pollResult() { return rows }
            _ = try waitFor(Int16(POLLIN), until: deadline ?? .infinity)
        }
    }

    /// Runs a script of several statements with no parameters (the migration), in one round trip.
    public func execute(script: String) throws(PostgresError) {
        try checkUsable()
        roundTrips += 1
        guard PQsendQuery(conn, script) == 1 else { throw lastError() }
        try flushSent()
        do {
            _ = try waitResult()
        } catch {
            // A failed script leaves its transaction aborted; end it so the connection stays usable.
            if !error.connectionLost && PQtransactionStatus(conn) == PQTRANS_INERROR { _ = try? query("ROLLBACK") }
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
            if PQstatus(conn) == CONNECTION_OK && !abandoned { _ = try? query("ROLLBACK") }
            throw error
        }
    }

    // MARK: Waiting

    func checkUsable() throws(PostgresError) {
        guard !abandoned else {
            throw PostgresError(kind: .query, sqlState: nil, message: "the connection was given up after a statement timed out",
                                connectionLost: true, timedOut: true)
        }
    }

    /// Starts the statement's clock and writes it out completely (nonblocking mode buffers it).
    private func flushSent() throws(PostgresError) {
        statementStarted = Clock.now()
        deadline = waitDeadline(from: statementStarted)
        while true {
            let pending = PQflush(conn)
            if pending == 0 { return }
            guard pending == 1 else { throw lastError() }
            // The server reads slowly or not at all; its answers may fill our side meanwhile.
            guard try waitFor(Int16(POLLOUT | POLLIN), until: deadline!) else { throw giveUp() }
            guard PQconsumeInput(conn) == 1 else { throw lastError() }
        }
    }

    /// Drains every result of the statement (the last is NULL) so the connection is free again.
    private func collect() throws(PostgresError) -> Rows {
        deadline = nil
        var rows: Rows?
        var failure: PostgresError?
        while let result = PQgetResult(conn) {
            defer { PQclear(result) }
            switch PQresultStatus(result) {
            case PGRES_TUPLES_OK, PGRES_COMMAND_OK, PGRES_EMPTY_QUERY: rows = Connection.rows(of: result)
            // The first error is the one that stopped the rest of a script.
            default: failure = failure ?? error(from: result)
            }
        }
        if let failure { throw failure }
        guard let rows else { throw lastError() }
        return rows
    }

    /// The deadline of a wait starting at `start`: `timeout` later, and no more than `stopWait`
    /// after a stop request (or after the start, for a statement begun while stopping).
    private func waitDeadline(from start: Double) -> Double {
        var limit = start + timeout
        if let stopNoticed { limit = min(limit, max(stopNoticed, start) + Connection.stopWait) }
        return limit
    }

    private func noticeStop() {
        guard stopNoticed == nil, let stop, stop.requested() else { return }
        let now = Clock.now()
        stopNoticed = now
        if let current = deadline { deadline = min(current, now + Connection.stopWait) }
    }

    /// poll() on the socket (and the stop descriptor) until `until`; false when it passed.
    private func waitFor(_ events: Int16, until: Double) throws(PostgresError) -> Bool {
        var limit = until
        while true {
            let left = limit - Clock.now()
            if left <= 0 { return false }
            var descriptors = [pollfd(fd: PQsocket(conn), events: events, revents: 0)]
            if let stop, stopNoticed == nil { descriptors.append(pollfd(fd: stop.descriptor, events: Int16(POLLIN), revents: 0)) }
            let milliseconds = left.isFinite ? Int32(min(left * 1000, 3_600_000).rounded(.up)) : -1
            let ready = poll(&descriptors, nfds_t(descriptors.count), milliseconds)
            if ready < 0 && errno != EINTR { throw lastError() }
            if descriptors.count > 1 && descriptors[1].revents != 0 {
                noticeStop()
                if let stopNoticed { limit = min(limit, stopNoticed + Connection.stopWait) }
                if let current = deadline { limit = min(limit, current) }
            }
            if descriptors[0].revents != 0 { return true }
        }
    }

    /// The statement took too long: ask the server to cancel it, and give the connection up.
    private func giveUp() -> PostgresError {
        abandoned = true
        let stopped = stopNoticed != nil && Clock.now() - statementStarted < timeout
        deadline = nil
        cancel()
        let message = stopped
            ? "the database did not answer within \(Connection.format(Connection.stopWait)) of the stop request; the statement was cancelled"
            : "the database did not answer within \(Connection.format(timeout)) (--db-timeout); the statement was cancelled"
        return PostgresError(kind: .query, sqlState: nil, message: message, connectionLost: true, timedOut: true)
    }

    /// A cancel request (a new connection to the server) stops the statement there too. It is
    /// bounded: a server that cannot even take the request must not hold the run.
    private func cancel() {
        guard let handle = PQgetCancel(conn) else { return }
        let request = CancelRequest(handle: handle)
        let done = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            var buffer = [CChar](repeating: 0, count: 256)
            _ = PQcancel(request.handle, &buffer, Int32(buffer.count))
            PQfreeCancel(request.handle)
            done.signal()
        }
        _ = done.wait(timeout: .now() + .milliseconds(500))
    }

    /// "2s", "0.75s": durations in messages, as the flags take them.
    static func format(_ seconds: Double) -> String {
        let hundredths = (seconds * 100).rounded()
        if hundredths.truncatingRemainder(dividingBy: 100) == 0 && hundredths < 1e11 { return "\(Int(hundredths / 100))s" }
        return "\(hundredths / 100)s"
    }

    // MARK: Results and errors

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
        let message = primary.map { ConninfoText.redact($0, secrets: secrets) } ?? clean(PQresultErrorMessage(result))
        return PostgresError(kind: .query, sqlState: state, message: message, connectionLost: lost)
    }

    func lastError() -> PostgresError {
        PostgresError(kind: .query, sqlState: nil, message: clean(PQerrorMessage(conn)),
                      connectionLost: PQstatus(conn) != CONNECTION_OK)
    }

    /// A libpq message as one line, with the password taken out.
    private func clean(_ pointer: UnsafeMutablePointer<CChar>?) -> String {
        ConninfoText.redact(Connection.cleanMessage(pointer), secrets: secrets)
    }

    /// libpq messages end in newlines and may span lines; an operator's log wants one line.
    static func cleanMessage(_ pointer: UnsafeMutablePointer<CChar>?) -> String {
        guard let pointer else { return "unknown libpq error" }
        let lines = String(cString: pointer).split(whereSeparator: \.isNewline)
            .map { $0.trimmingSpaces() }.filter { !$0.isEmpty }
        return lines.isEmpty ? "unknown libpq error" : lines.joined(separator: "; ")
    }
}

/// A PGcancel handed to the thread that sends the request (it is only read there, then freed).
private struct CancelRequest: @unchecked Sendable {
    let handle: OpaquePointer
}

/// Monotonic seconds, for deadlines.
enum Clock {
    static func now() -> Double {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
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
