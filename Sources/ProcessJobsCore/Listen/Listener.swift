import Logging
import PostgresClient

/// The session connection `run --listen` LISTENs on: its table's channel (`process_jobs` for
/// job_queue, `process_jobs:TABLE` for a profile's: JobTable.channel), opened apart from the
/// connection that claims, proven at every connect to receive what is sent (PoolerCheck), and
/// reconnected with backoff when it is lost (ReconnectPolicy) without ending the process.
/// It owns no loop: the driver polls `descriptor` beside its other descriptors, wakes by
/// `reconnectAt`, and calls `service()`; every event but `.idle` and `.down` means "claim now"
/// (with the probe first, unless a notification said a job is due now).
public final class Listener {
    /// job_queue's channel, as released.
    public static let channel = "process_jobs"
    /// The trigger's payload for an INSERT of jobs due only later (ListenQueries.trigger).
    public static let laterPayload = "later"

    public let source: ListenDatabaseURL
    /// The channel LISTENed to, and the pooler check's probe sent on.
    public let channel: String
    private let timeout: Double
    private let probeWait: Double
    private let stop: Connection.StopCheck?
    private let log: Logger
    private let now: () -> Double
    private let random: () -> Double
    private var connection: Connection?
    private var policy: ReconnectPolicy

    /// What a call to `service()` found.
    public enum Event: Equatable, Sendable {
        /// Notifications arrived: `dueNow` of them said jobs became due now (the trigger's empty
        /// payload), `later` that jobs were scheduled for later (payload 'later').
        case notified(dueNow: Int, later: Int)
        /// The connection is (again) listening: jobs may have become due while it was not.
        case connected
        /// Nothing arrived.
        case idle
        /// Not connected; the next try is at `reconnectAt`.
        case down
    }

    /// `timeout` bounds connecting and each statement (--db-timeout); `probeWait` the listen
    /// check. `now` is a monotonic clock in seconds and `random` gives numbers in [0, 1) for
    /// the backoff's jitter.
    public init(source: ListenDatabaseURL, channel: String = Listener.channel, timeout: Double,
                probeWait: Double = PoolerCheck.wait, policy: ReconnectPolicy = .standard, stop: Connection.StopCheck?, log: Logger,
                now: @escaping () -> Double, random: @escaping () -> Double) {
        self.source = source
        self.channel = channel
        self.timeout = timeout
        self.probeWait = probeWait
        self.policy = policy
        self.stop = stop
        self.log = log
        self.now = now
        self.random = random
    }

    /// The socket to poll for notifications; nil while disconnected.
    public var descriptor: Int32? { connection?.socket }

    /// When `service()` should be called to try reconnecting; nil while connected.
    public var reconnectAt: Double? { policy.nextTry }

    /// Opens the session, LISTENs and checks that notifications reach it. The caller decides
    /// what a failure at start means: ConfigError (exit 78) behind a transaction-mode pooler,
    /// PostgresError when the database cannot be reached or refuses.
    public func start() throws {
        connection = try connect()
    }

    /// Reads what arrived on `descriptor`, or tries to reconnect once `reconnectAt` has passed.
    /// A lost connection is not an error here: it is logged once per outage and retried with
    /// backoff. It throws only for what needs a person: a pooler between us and the server
    /// (ConfigError), or a refusal such as a bad password (a PostgresError that is not transient).
    public func service() throws -> Event {
        guard let connection else { return try reconnect() }
        do {
            let received = try connection.notifications()
            let jobs = received.filter { !$0.payload.hasPrefix(PoolerCheck.payloadPrefix) }
            let later = jobs.filter { $0.payload == Listener.laterPayload }.count
            return jobs.isEmpty ? .idle : .notified(dueNow: jobs.count - later, later: later)
        } catch {
            self.connection = nil
            let decision = policy.failed(at: now(), random: random())
            if decision.firstOfOutage {
                log.warning("listen connection lost: \(error.message); reconnecting with backoff")
            }
            return .down
        }
    }

    private func reconnect() throws -> Event {
        guard policy.due(at: now()) else { return .down }
        do {
            connection = try connect()
        } catch let error as PostgresError where error.isTransient {
            let decision = policy.failed(at: now(), random: random())
            if decision.firstOfOutage {
                log.warning("listen connection unavailable: \(error.message); reconnecting with backoff")
            }
            return .down
        }
        if let outage = policy.connected(at: now()) {
            log.notice("listening again after \(DurationText.format(outage.seconds)) (\(outage.failures) failed \(outage.failures == 1 ? "try" : "tries"))")
        }
        return .connected
    }

    /// LISTEN on a new session, then the probe from a second connection; the listener sends
    /// nothing while it waits, so only a session that holds the LISTEN can receive it.
    private func connect() throws -> Connection {
        let listening = try Connection(conninfo: source.conninfo, timeout: timeout, stop: stop,
                                       applicationName: "process-jobs listen")
        do {
            try listening.listen(channel)
        } catch {
            // A pooler that refuses LISTEN outright is the same problem, with its reason.
            if error.isTransient { throw error }
            throw PoolerCheck.refused(source: source.source, message: error.message)
        }
        let payload = PoolerCheck.payload(random: UInt64.random(in: .min ... .max))
        try notify(payload)
        let deadline = now() + probeWait
        while now() < deadline {
            let received = try listening.waitForNotifications(seconds: deadline - now())
            if received.contains(where: { $0.payload == payload }) { return listening }
            if let stop, stop.requested() {
                throw PostgresError(kind: .connect, sqlState: nil, message: "stopped while checking the listen connection",
                                    connectionLost: true, timedOut: true)
            }
        }
        throw PoolerCheck.error(source: source.source, waited: probeWait)
    }

    /// Sends the probe from its own short-lived connection, closed before the wait begins.
    private func notify(_ payload: String) throws(PostgresError) {
        let notifier = try Connection(conninfo: source.conninfo, timeout: timeout, stop: stop,
                                      applicationName: "process-jobs listen check")
        try notifier.query(ListenQueries.probe, [channel, payload])
    }
}
