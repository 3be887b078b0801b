import PostgresClient

/// The database as the driver uses it: a probe, one tick statement at a time (sent, then polled
/// while requests go on), and the body of a job too big to come with the claim. JobStore is the
/// real one; the scheduler needs none of it.
public protocol TickStore: AnyObject {
    /// Whether a run has anything to do, and the schema version `migrate` recorded.
    func probe(types: [String], lease: Double) throws(PostgresError) -> JobStore.Probe
    func beginTick(outcomes: [PendingOutcome], claim: JobStore.Claim?, pauses: [RoutePause]) throws(PostgresError)
    /// The tick's result once it has arrived, else nil (wait for `socket`).
    func pollTick() throws(PostgresError) -> JobStore.TickResult?
    /// Nil when the lease was taken over meanwhile. Needs no tick out.
    func body(of job: ClaimedJob) throws(PostgresError) -> String?
    /// The descriptor to wait on while a tick is out.
    var socket: Int32 { get }
    /// Seconds left before the statement out times out, if one is out.
    var secondsLeft: Double? { get }
    /// Statements sent so far, for the summary line.
    var roundTrips: Int { get }
}

extension JobStore: TickStore {
    public var socket: Int32 { connection.socket }
    public var secondsLeft: Double? { connection.secondsLeft }
    public var roundTrips: Int { connection.roundTrips }
}
