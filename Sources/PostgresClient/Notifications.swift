#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CLibPQ

/// A NOTIFY that arrived on a channel this connection LISTENs to.
public struct PostgresNotification: Sendable, Equatable {
    public let channel: String
    public let payload: String
    /// The server process that sent it (pg_backend_pid() of the notifying session).
    public let senderPID: Int32

    public init(channel: String, payload: String, senderPID: Int32) {
        self.channel = channel
        self.payload = payload
        self.senderPID = senderPID
    }
}

/// LISTEN and the notifications it brings. Only a session keeps a LISTEN: behind a
/// transaction-mode pooler it stays on whichever server connection ran it, and what that server
/// connection is sent later never reaches this client.
extension Connection {
    /// LISTEN on `channel`. LISTEN takes no parameters, so the name goes in quoted as an
    /// identifier by libpq (with the server's encoding in mind).
    public func listen(_ channel: String) throws(PostgresError) {
        try query("LISTEN " + quotedIdentifier(channel))
    }

    /// `name` as a quoted SQL identifier ("process_jobs"), embedded quotes doubled. A name the
    /// server would refuse or silently cut (empty, a NUL, longer than 63 bytes) is an error here.
    public func quotedIdentifier(_ name: String) throws(PostgresError) -> String {
        guard !name.isEmpty, !name.utf8.contains(0), name.utf8.count <= 63 else {
            throw PostgresError(kind: .query, sqlState: nil, message: "not a usable channel name (1 to 63 bytes, no NUL)",
                                connectionLost: false)
        }
        guard let quoted = PQescapeIdentifier(conn, name, name.utf8.count) else { throw lastError() }
        defer { PQfreemem(quoted) }
        return String(cString: quoted)
    }

    /// The notifications that have arrived, read from the socket without blocking: empty when
    /// none. Throws when the connection is gone (server restart, pg_terminate_backend, network),
    /// which shows here as the socket turning readable with the end of the stream.
    public func notifications() throws(PostgresError) -> [PostgresNotification] {
        try checkUsable()
        guard PQconsumeInput(conn) == 1 else { throw lastError() }
        var received: [PostgresNotification] = []
        while let notify = PQnotifies(conn) {
            defer { PQfreemem(notify) }
            received.append(PostgresNotification(channel: String(cString: notify.pointee.relname),
                                         payload: String(cString: notify.pointee.extra),
                                         senderPID: notify.pointee.be_pid))
        }
        return received
    }

    /// Waits at most `seconds` for notifications (a poll() on `socket` and the stop descriptor):
    /// what arrived, or empty when the time passed or a stop was requested. A caller with other
    /// descriptors to watch polls `socket` itself and calls `notifications()` when it is readable.
    public func waitForNotifications(seconds: Double) throws(PostgresError) -> [PostgresNotification] {
        let deadline = Clock.now() + max(0, seconds)
        while true {
            let received = try notifications()
            if !received.isEmpty { return received }
            if let stop, stop.requested() { return [] }
            let left = deadline - Clock.now()
            if left <= 0 { return [] }
            var descriptors = [pollfd(fd: socket, events: Int16(POLLIN), revents: 0)]
            if let stop { descriptors.append(pollfd(fd: stop.descriptor, events: Int16(POLLIN), revents: 0)) }
            let milliseconds = Int32(min(left * 1000, 3_600_000).rounded(.up))
            if poll(&descriptors, nfds_t(descriptors.count), milliseconds) < 0 && errno != EINTR { throw lastError() }
        }
    }
}
