import PostgresClient

/// The store of a listen burst that a notification started: the notification said a job is due
/// now, so the probe is answered here without its round trip and the burst claims at once.
/// Everything else goes to the real store. The answer's schema version is the one this runner
/// knows: the listener's first burst probed and would have stopped on an older schema, and the
/// probe that follows every burst without one reads it again (ClaimTimer).
public final class NotifiedStore: TickStore {
    private let store: any TickStore

    public init(_ store: any TickStore) {
        self.store = store
    }

    public func probe(types: [String], lease: Double) throws(PostgresError) -> JobStore.Probe {
        JobStore.Probe(hasWork: true, schemaVersion: SchemaVersion.current)
    }

    public func beginTick(outcomes: [PendingOutcome], claim: JobStore.Claim?, pauses: [RoutePause]) throws(PostgresError) {
        try store.beginTick(outcomes: outcomes, claim: claim, pauses: pauses)
    }

    public func pollTick() throws(PostgresError) -> JobStore.TickResult? { try store.pollTick() }

    public func body(of job: ClaimedJob) throws(PostgresError) -> String? { try store.body(of: job) }

    public var socket: Int32 { store.socket }
    public var secondsLeft: Double? { store.secondsLeft }
    public var roundTrips: Int { store.roundTrips }
}
