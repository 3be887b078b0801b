import PostgresClient

/// The run's side of job_queue: one tick statement that records, rescues and claims.
public final class JobStore {
    public let connection: Connection
    /// Who holds the leases this run takes ("host:pid").
    public let lockedBy: String

    public init(connection: Connection, lockedBy: String) {
        self.connection = connection
        self.lockedBy = lockedBy
    }

    public struct Claim: Sendable {
        /// At most this many jobs in all.
        public var limit: Int
        /// Job types to claim and at most how many of each.
        public var quotas: [(type: String, quota: Int)]
        public var lease: Double
        /// Also turn expired leases into failed attempts.
        public var rescue: Bool

        public init(limit: Int, quotas: [(type: String, quota: Int)], lease: Double, rescue: Bool) {
            self.limit = limit
            self.quotas = quotas
            self.lease = lease
            self.rescue = rescue
        }
    }

    public struct Recorded: Sendable, Equatable {
        public let id: String
        public let status: String
        public let retryCount: Int
    }

    public struct Rescued: Sendable, Equatable {
        public let id: String
        public let type: String
        public let status: String
        public let retryCount: Int
        public let previousHolder: String?
    }

    public struct TickResult: Sendable {
        public var recorded: [Recorded] = []
        public var rescued: [Rescued] = []
        public var claimed: [ClaimedJob] = []
    }

    /// Whether a run has anything to do: a job of `types` due, or an expired lease to rescue.
    public func hasWork(types: [String], lease: Double) throws(PostgresError) -> Bool {
        try connection.query(Queries.probe, [PostgresArray.literal(types), String(lease)]).values.first?.first == "t"
    }

    /// Writes `outcomes` and, when `claim` is given, rescues and claims, all in one statement,
    /// waiting for the answer (at most the connection's timeout).
    public func tick(outcomes: [PendingOutcome], claim: Claim?) throws(PostgresError) -> TickResult {
        try beginTick(outcomes: outcomes, claim: claim)
        return JobStore.tickResult(try connection.waitResult())
    }

    /// Sends the tick statement; its answer comes from `pollTick()`.
    public func beginTick(outcomes: [PendingOutcome], claim: Claim?) throws(PostgresError) {
        let quotas = claim?.quotas ?? []
        try connection.send(Queries.tick, [
            OutcomeDocument.encode(outcomes, serverEncoding: connection.serverEncoding),
            lockedBy,
            String(claim?.limit ?? 0),
            PostgresArray.literal(quotas.map(\.type)),
            PostgresArray.literal(quotas.map { String($0.quota) }),
            String(claim?.lease ?? 0),
            (claim?.rescue ?? false) ? "true" : "false",
        ])
    }

    /// The tick's result once it has arrived, else nil (wait for `connection.socket`).
    public func pollTick() throws(PostgresError) -> TickResult? {
        try connection.pollResult().map(JobStore.tickResult)
    }

    private static func tickResult(_ rows: Rows) -> TickResult {
        var result = TickResult()
        let kind = rows.column("kind"), id = rows.column("id"), type = rows.column("job_type")
        let status = rows.column("status"), retries = rows.column("retry_count")
        let maxRetries = rows.column("max_retries"), claimedAt = rows.column("claimed_at")
        let previous = rows.column("previous_processed_at"), payloadType = rows.column("payload_type")
        let body = rows.column("body"), lockedBy = rows.column("locked_by")
        for row in rows.values {
            let retryCount = Int(row[retries] ?? "0") ?? 0
            switch row[kind] {
            case "recorded":
                result.recorded.append(Recorded(id: row[id]!, status: row[status]!, retryCount: retryCount))
            case "rescued":
                result.rescued.append(Rescued(id: row[id]!, type: row[type]!, status: row[status]!,
                                              retryCount: retryCount, previousHolder: row[lockedBy]))
            default:
                result.claimed.append(ClaimedJob(
                    id: row[id]!, type: row[type]!, retryCount: retryCount,
                    maxRetries: Int(row[maxRetries] ?? "3") ?? 3, claimedAt: row[claimedAt]!,
                    previousProcessedAt: row[previous], body: row[body], payloadType: row[payloadType] ?? "null"))
            }
        }
        return result
    }
}

/// PostgreSQL array literals for text parameters ($1::text[]).
enum PostgresArray {
    static func literal(_ items: [String]) -> String {
        let quoted = items.map { item -> String in
            var escaped = "\""
            for character in item {
                if character == "\"" || character == "\\" { escaped.append("\\") }
                escaped.append(character)
            }
            return escaped + "\""
        }
        return "{" + quoted.joined(separator: ",") + "}"
    }
}
