import PostgresClient

/// The run's side of the job table (job_queue, or a profile's): one tick statement that records,
/// rescues and claims.
public final class JobStore {
    public let connection: Connection
    /// Who holds the leases this run takes ("host:pid").
    public let lockedBy: String
    /// --on-failure: each job that ends failed gets one job of this type, in the same statement.
    public let onFailure: String?
    /// The table's statements, shared by the stores of one listener.
    let statements: TableStatements

    /// A store for `table` (job_queue unless a profile says otherwise).
    public convenience init(connection: Connection, lockedBy: String, onFailure: String? = nil, table: JobTable = .jobQueue) {
        self.init(connection: connection, lockedBy: lockedBy, onFailure: onFailure, statements: TableStatements(table))
    }

    /// A store whose statements were made before (listen mode: one set for all its bursts).
    public init(connection: Connection, lockedBy: String, onFailure: String? = nil, statements: TableStatements) {
        self.connection = connection
        self.lockedBy = lockedBy
        self.onFailure = onFailure
        self.statements = statements
    }

    public struct Claim: Sendable {
        /// At most this many jobs in all.
        public var limit: Int
        /// Job types to claim and at most how many of each.
        public var quotas: [(type: String, quota: Int)]
        public var lease: Double
        /// Also turn expired leases into failed attempts.
        public var rescue: Bool
        /// Body bytes this claim may bring in (--max-inflight-bytes less what the run holds);
        /// jobs past it stay pending, untouched.
        public var budget: Int
        /// Nothing is held: the first job may go alone even when its body is over `budget`.
        public var alone: Bool
        /// Bodies over this (--max-payload) are claimed to fail, never loaded.
        public var maxPayload: Int
        /// A rescued lease with retries left waits this policy's backoff, as any failed attempt.
        public var backoff: RetryPolicy
        /// Per type: rate and global concurrency, applied under the route's lock.
        public var limits: [String: RouteLimits]
        public var fairBy: FairBy
        /// --user-concurrency: at most this many live leases per user, across all runners.
        public var userConcurrency: Int?

        public init(limit: Int, quotas: [(type: String, quota: Int)], lease: Double, rescue: Bool,
                    budget: Int = RunSettings().maxInflightBytes, alone: Bool = true,
                    maxPayload: Int = RunSettings().maxPayload, backoff: RetryPolicy = .standard,
                    limits: [String: RouteLimits] = [:], fairBy: FairBy = .none, userConcurrency: Int? = nil) {
            self.limit = limit
            self.quotas = quotas
            self.lease = lease
            self.rescue = rescue
            self.budget = budget
            self.alone = alone
            self.maxPayload = maxPayload
            self.backoff = backoff
            self.limits = limits
            self.fairBy = fairBy
            self.userConcurrency = userConcurrency
        }
    }

    /// Bodies up to this size come with the claim; larger ones are read one at a time by
    /// `body(of:)`, so a tick's answer stays small whatever the payloads.
    public static let inlineBodyLimit = 64 * 1024
    /// Chunk size for reading a big body (libpq holds a chunk three times over while reading it).
    static let bodyChunk = 4 * 1024 * 1024

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

    /// A failure job the tick queued (--on-failure): its id and type, and the failed job's id.
    public struct Notified: Sendable, Equatable {
        public let id: String
        public let type: String
        public let failedJobID: String
    }

    public struct TickResult: Sendable {
        public var recorded: [Recorded] = []
        public var rescued: [Rescued] = []
        public var notified: [Notified] = []
        public var claimed: [ClaimedJob] = []
        /// Routes whose due jobs a gate kept back (rate, concurrency, user cap, pause).
        public var holds: [RouteHold] = []
    }

    /// What a run learns before it plans a tick.
    public struct Probe: Sendable, Equatable {
        /// A job of the run's types is due, or a lease has expired.
        public var hasWork: Bool
        /// process_jobs.schema_version as `migrate` recorded it (0: none); see SchemaVersion.check.
        public var schemaVersion: Int
        /// Seconds until a job of the run's types becomes due or a lease expires (nil: nothing
        /// is scheduled): how long a listener may sleep before it must claim again.
        public var nextDueIn: Double?

        public init(hasWork: Bool, schemaVersion: Int, nextDueIn: Double? = nil) {
            self.hasWork = hasWork
            self.schemaVersion = schemaVersion
            self.nextDueIn = nextDueIn
        }
    }

    /// One statement: whether there is work, and the schema version. A schema without
    /// process_jobs.schema_version fails it with SQLSTATE 42P01 (undefined_table).
    public func probe(types: [String], lease: Double) throws(PostgresError) -> Probe {
        let row = try connection.query(statements.probe, [PostgresArray.literal(types), String(lease)]).values.first
        return Probe(hasWork: row?[0] == "t", schemaVersion: row?[1].flatMap { Int($0) } ?? 0,
                     nextDueIn: row?[2].flatMap { Double($0) })
    }

    /// Writes `outcomes` and, when `claim` is given, rescues and claims, all in one statement,
    /// waiting for the answer (at most the connection's timeout).
    public func tick(outcomes: [PendingOutcome], claim: Claim?, pauses: [RoutePause] = []) throws(PostgresError) -> TickResult {
        try beginTick(outcomes: outcomes, claim: claim, pauses: pauses)
        return Self.decode(try connection.waitResult())
    }

    /// Sends the tick statement; its answer comes from `pollTick()`. `pauses` are written to the
    /// shared route state in the same statement.
    public func beginTick(outcomes: [PendingOutcome], claim: Claim?, pauses: [RoutePause] = []) throws(PostgresError) {
        let (sql, parameters) = tickStatement(outcomes: outcomes, claim: claim, pauses: pauses)
        try connection.sendRepeated(sql, parameters)
    }

    /// The tick statement for these values, with its parameters.
    func tickStatement(outcomes: [PendingOutcome], claim: Claim?, pauses: [RoutePause]) -> (String, [String?]) {
        let shape = TickShape(outcomes: outcomes, claim: claim, pauses: pauses, onFailure: onFailure)
        let statement = statements.tick(shape)
        return (statement.sql, statement.parameters(tickParameters(outcomes: outcomes, claim: claim, pauses: pauses)))
    }

    /// $1-$23 of the tick statement (Queries.tick says what each is; a shape uses some).
    func tickParameters(outcomes: [PendingOutcome], claim: Claim?, pauses: [RoutePause]) -> [String?] {
        let quotas = claim?.quotas ?? []
        let backoff = claim?.backoff ?? .standard
        return [
            OutcomeDocument.encode(outcomes, serverEncoding: connection.serverEncoding),
            lockedBy,
            String(claim?.limit ?? 0),
            PostgresArray.literal(quotas.map(\.type)),
            PostgresArray.literal(quotas.map { String($0.quota) }),
            String(claim?.lease ?? 0),
            (claim?.rescue ?? false) ? "true" : "false",
            String(max(0, claim?.budget ?? 0)),
            (claim?.alone ?? false) ? "true" : "false",
            String(claim?.maxPayload ?? 0),
            String(Self.inlineBodyLimit),
            onFailure,
            String(backoff.base),
            String(backoff.cap),
            String(backoff.jitter),
        ] + Self.flowParameters(claim: claim, pauses: pauses)
    }

    /// $16-$23 of the tick: the claim's limits per type of `quotas` (NULL where a type has none),
    /// fairness, the user cap, and the pauses to write.
    static func flowParameters(claim: Claim?, pauses: [RoutePause]) -> [String?] {
        let types = claim?.quotas.map(\.type) ?? []
        let limits = types.map { claim?.limits[$0] }
        return [
            PostgresArray.literal(limits.map { $0?.rate.map { String($0.interval) } }),
            PostgresArray.literal(limits.map { $0?.rate.map { String($0.burst) } }),
            PostgresArray.literal(limits.map { $0?.concurrency.map(String.init) }),
            claim?.fairBy == .user ? "true" : "false",
            claim?.userConcurrency.map(String.init),
            PostgresArray.literal(pauses.map(\.type)),
            PostgresArray.literal(pauses.map { String($0.seconds) }),
            PostgresArray.literal(pauses.map(\.reason)),
        ]
    }

    /// The tick's result once it has arrived, else nil (wait for `connection.socket`).
    public func pollTick() throws(PostgresError) -> TickResult? {
        try connection.pollResult().map(Self.decode)
    }

    /// The tick's rows as values. Nothing a row holds can trap here: ids, times and statuses are
    /// the statement's own, and every other value has a fallback (a NULL job_type reads "").
    static func decode(_ rows: Rows) -> TickResult {
        var result = TickResult()
        let kind = rows.column("kind"), id = rows.column("id"), type = rows.column("job_type")
        let status = rows.column("status"), retries = rows.column("retry_count")
        let maxRetries = rows.column("max_retries"), claimedAt = rows.column("claimed_at")
        let previous = rows.column("previous_processed_at"), payloadType = rows.column("payload_type")
        let body = rows.column("body"), lockedBy = rows.column("locked_by"), bodySize = rows.column("body_size")
        let failedJob = rows.column("failed_job_id"), nextIn = rows.column("next_in")
        for row in rows.values {
            if row[kind] == "held" {
                if let reason = row[status].flatMap(HoldReason.init(rawValue:)) {
                    result.holds.append(RouteHold(type: row[type] ?? "", reason: reason,
                                                  held: row[retries].flatMap { Int($0) } ?? 0,
                                                  nextIn: row[nextIn].flatMap { Double($0) }))
                }
                continue
            }
            guard let jobID = row[id] else { continue }
            let retryCount = row[retries].flatMap { Int($0) } ?? 0
            switch row[kind] {
            case "recorded":
                result.recorded.append(Recorded(id: jobID, status: row[status] ?? "", retryCount: retryCount))
            case "rescued":
                result.rescued.append(Rescued(id: jobID, type: row[type] ?? "", status: row[status] ?? "",
                                              retryCount: retryCount, previousHolder: row[lockedBy]))
            case "notified":
                result.notified.append(Notified(id: jobID, type: row[type] ?? "", failedJobID: row[failedJob] ?? ""))
            default:
                result.claimed.append(ClaimedJob(
                    id: jobID, type: row[type] ?? "", retryCount: retryCount,
                    maxRetries: row[maxRetries].flatMap { Int($0) } ?? 3, claimedAt: row[claimedAt] ?? "",
                    previousProcessedAt: row[previous], body: row[body], payloadType: row[payloadType] ?? "missing",
                    bodySize: row[bodySize].flatMap { Int($0) } ?? 0))
            }
        }
        return result
    }

    /// The body of a job claimed without it (over `inlineBodyLimit`), read so that the run holds
    /// one copy of it: one statement for a body of up to a chunk, else a cursor read chunk by
    /// chunk into the body's own storage. Nil when the lease was taken over meanwhile. Needs the
    /// connection free (no tick out).
    public func body(of job: ClaimedJob) throws(PostgresError) -> String? {
        let fence: [String?] = [job.id, lockedBy, job.claimedAt]
        if job.bodySize <= Self.bodyChunk {
            return try connection.query(statements.smallBody, fence).values.first?.first ?? nil
        }
        return try connection.transaction { connection throws(PostgresError) -> String? in
            try connection.query(statements.bodyChunks, fence + [String(Self.bodyChunk)])
            // The first chunk says how big the body is; the rest are written after it.
            guard var chunk = try connection.query(Queries.nextBodyChunk).values.first,
                  let total = chunk[2].flatMap({ Int($0) }), total > 0 else { return nil }
            var failure: PostgresError?
            var complete = false
            let body = String(unsafeUninitializedCapacity: total) { buffer -> Int in
                var filled = 0, expected = 1
                while true {
                    guard chunk[0] == String(expected), var text = chunk[3] else { return 0 }
                    let fits = text.withUTF8 { utf8 -> Bool in
                        guard utf8.count <= buffer.count - filled else { return false }
                        if let source = utf8.baseAddress, let target = buffer.baseAddress {
                            (target + filled).update(from: source, count: utf8.count)
                        }
                        filled += utf8.count
                        return true
                    }
                    guard fits else { return 0 }
                    if chunk[1] == String(expected) {
                        complete = true
                        return filled
                    }
                    expected += 1
                    do throws(PostgresError) {
                        guard let next = try connection.query(Queries.nextBodyChunk).values.first else { return 0 }
                        chunk = next
                    } catch {
                        failure = error
                        return 0
                    }
                }
            }
            if let failure { throw failure }
            return complete ? body : nil
        }
    }
}

/// PostgreSQL array literals for text parameters ($1::text[]).
enum PostgresArray {
    static func literal(_ items: [String]) -> String {
        literal(items.map { Optional($0) })
    }

    /// nil items are NULL elements.
    static func literal(_ items: [String?]) -> String {
        let quoted = items.map { item -> String in
            guard let item else { return "NULL" }
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
