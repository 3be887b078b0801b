import PostgresClient

/// The operator commands' side of job_queue: reads for status, check, dry runs and metrics, and
/// the few writes an operator makes by hand (retry, prune, enqueue). Statements: OperatorQueries.
public final class OperatorStore {
    public let connection: Connection
    /// The job table the reads look at (job_queue unless a profile says otherwise).
    let table: TableSQL

    public init(connection: Connection, table: JobTable = .jobQueue) {
        self.connection = connection
        self.table = table.sql
    }

    // MARK: Reads

    /// One row of the queue summary: a job type in one status.
    public struct QueueRow: Sendable, Equatable {
        public var type: String
        /// "pending", "processing", "completed", "failed" (or whatever else a row holds).
        public var status: String
        public var jobs: Int
        /// Pending jobs whose run_at has come.
        public var due: Int
        /// How long the longest-waiting due job has been due (nil when none is).
        public var oldestDueSeconds: Double?
        /// The earliest future run_at of a pending job, Unix seconds (nil when none).
        public var nextRetryAt: Double?
        /// Processing jobs whose lease has expired.
        public var expiredLeases: Int

        public init(type: String, status: String, jobs: Int, due: Int = 0, oldestDueSeconds: Double? = nil,
                    nextRetryAt: Double? = nil, expiredLeases: Int = 0) {
            self.type = type
            self.status = status
            self.jobs = jobs
            self.due = due
            self.oldestDueSeconds = oldestDueSeconds
            self.nextRetryAt = nextRetryAt
            self.expiredLeases = expiredLeases
        }
    }

    /// The queue by type and status, and the database's clock (Unix seconds) when it was read.
    public func queueSummary(lease: Double) throws(PostgresError) -> (rows: [QueueRow], now: Double) {
        let rows = try connection.query(Queries.queueSummary(table), [String(lease)])
        var now = 0.0
        let summary = rows.values.map { row -> QueueRow in
            now = Double(row[7] ?? "") ?? now
            return QueueRow(type: row[0] ?? "", status: row[1] ?? "null", jobs: Int(row[2] ?? "") ?? 0,
                            due: Int(row[3] ?? "") ?? 0, oldestDueSeconds: row[4].flatMap(Double.init),
                            nextRetryAt: row[5].flatMap(Double.init), expiredLeases: Int(row[6] ?? "") ?? 0)
        }
        if summary.isEmpty {
            now = Double(try connection.query(Queries.databaseNow).values[0][0] ?? "") ?? 0
        }
        return (summary, now)
    }

    public struct ExpiredLease: Sendable, Equatable {
        public var id: String
        public var type: String
        public var lockedBy: String?
        public var retryCount: Int
        public var expiredSeconds: Double
    }

    public func expiredLeases(lease: Double, limit: Int) throws(PostgresError) -> [ExpiredLease] {
        try connection.query(Queries.expiredLeases(table), [String(lease), String(limit)]).values.map {
            ExpiredLease(id: $0[0] ?? "", type: $0[1] ?? "", lockedBy: $0[2], retryCount: Int($0[3] ?? "") ?? 0,
                         expiredSeconds: Double($0[4] ?? "") ?? 0)
        }
    }

    public struct ErrorCount: Sendable, Equatable {
        public var message: String
        public var jobs: Int
        public var types: [String]
        /// When the last of them failed, Unix seconds.
        public var lastAt: Double
    }

    public func topErrors(within seconds: Double, limit: Int) throws(PostgresError) -> [ErrorCount] {
        try connection.query(Queries.topErrors(table), [String(seconds), String(limit)]).values.map {
            ErrorCount(message: $0[0] ?? "", jobs: Int($0[1] ?? "") ?? 0,
                       types: ($0[2] ?? "").split(separator: "\n").map(String.init),
                       lastAt: Double($0[3] ?? "") ?? 0)
        }
    }

    public struct RecentFailure: Sendable, Equatable {
        public var id: String
        public var type: String
        public var error: String?
        /// When it failed, Unix seconds.
        public var failedAt: Double
        /// The failure job queued for it (--on-failure), if any.
        public var failureJob: (id: String, type: String, status: String)?

        public init(id: String, type: String, error: String?, failedAt: Double,
                    failureJob: (id: String, type: String, status: String)? = nil) {
            self.id = id
            self.type = type
            self.error = error
            self.failedAt = failedAt
            self.failureJob = failureJob
        }

        public static func == (lhs: RecentFailure, rhs: RecentFailure) -> Bool {
            lhs.id == rhs.id && lhs.type == rhs.type && lhs.error == rhs.error && lhs.failedAt == rhs.failedAt
                && lhs.failureJob?.id == rhs.failureJob?.id && lhs.failureJob?.type == rhs.failureJob?.type
                && lhs.failureJob?.status == rhs.failureJob?.status
        }
    }

    /// The last `limit` jobs failed within `seconds`, newest first, with their failure jobs.
    public func recentFailures(within seconds: Double, limit: Int) throws(PostgresError) -> [RecentFailure] {
        try connection.query(Queries.recentFailures(table), [String(seconds), String(limit)]).values.map { row in
            RecentFailure(id: row[0] ?? "", type: row[1] ?? "", error: row[2], failedAt: Double(row[3] ?? "") ?? 0,
                          failureJob: row[4].map { ($0, row[5] ?? "", row[6] ?? "null") })
        }
    }

    public struct DueJob: Sendable, Equatable {
        public var id: String
        public var type: String
        public var retryCount: Int
        public var maxRetries: Int
        public var dueSeconds: Double
        public var payloadType: String

        public var attempt: Int { retryCount + 1 }
    }

    /// What a claim would take now, in its order, without taking it.
    public func dueJobs(quotas: [(type: String, quota: Int)], limit: Int) throws(PostgresError) -> [DueJob] {
        try connection.query(Queries.dueJobs(table), [
            PostgresArray.literal(quotas.map(\.type)), PostgresArray.literal(quotas.map { String($0.quota) }), String(limit),
        ]).values.map {
            DueJob(id: $0[0] ?? "", type: $0[1] ?? "", retryCount: Int($0[2] ?? "") ?? 0, maxRetries: Int($0[3] ?? "") ?? 3,
                   dueSeconds: Double($0[4] ?? "") ?? 0, payloadType: $0[5] ?? "null")
        }
    }

    public func serverVersion() throws(PostgresError) -> String {
        try connection.query(Queries.serverVersion).values.first?[0] ?? "unknown"
    }

    public struct CronJob: Sendable, Equatable {
        public var id: String
        public var schedule: String
        public var active: Bool
        public var database: String
        /// "" for a job without a name.
        public var name: String
        /// Its command calls the Edge Function's URL.
        public var callsEdgeFunction: Bool
    }

    /// pg_cron jobs of that name or whose command contains `commandPart`, active ones first, or
    /// nil when pg_cron is not installed in this database.
    public func cronJobs(named name: String, commandContaining commandPart: String) throws(PostgresError) -> [CronJob]? {
        guard try connection.query(Queries.cronSchemaExists).values.first?[0] == "t" else { return nil }
        return try connection.query(Queries.cronJobs, [name, commandPart]).values.map {
            CronJob(id: $0[0] ?? "", schedule: $0[1] ?? "", active: $0[2] == "t", database: $0[3] ?? "",
                    name: $0[4] ?? "", callsEdgeFunction: $0[5] == "t")
        }
    }

    /// Row level security on job_queue as it applies to this connection's role; nil without a table.
    public func rowSecurity() throws(PostgresError) -> RowSecurity? {
        guard let row = try connection.query(Queries.rowSecurity).values.first else { return nil }
        let sees = try connection.query(Queries.seesAnyJob).values.first?[0] == "t"
        return RowSecurity(role: row[0] ?? "", enabled: row[1] == "t", forced: row[2] == "t", owner: row[3] == "t",
                           bypass: row[4] == "t", selectPolicy: row[5] == "t", updatePolicy: row[6] == "t",
                           estimatedRows: Double(row[7] ?? "") ?? 0, liveRows: Double(row[8] ?? "") ?? 0, seesRows: sees)
    }

    /// The privileges on job_queue this role lacks, of SELECT, UPDATE, INSERT, DELETE.
    public func missingPrivileges() throws(PostgresError) -> [String] {
        let row = try connection.query(Queries.tablePrivileges).values.first ?? []
        return zip(["SELECT", "UPDATE", "INSERT", "DELETE"], row).filter { $0.1 != "t" }.map(\.0)
    }

    /// Sends an UPDATE of no row inside a transaction that is rolled back: throws what a real
    /// write would meet (read-only connection, missing privilege), changes nothing.
    public func probeWrite() throws(PostgresError) {
        try connection.query("BEGIN")
        do {
            try connection.query(Queries.probeWrite)
        } catch {
            _ = try? connection.query("ROLLBACK")
            throw error
        }
        try connection.query("ROLLBACK")
    }

    // MARK: Writes

    /// What became of one id given to `retry`.
    public struct RetryResult: Sendable, Equatable {
        public var id: String
        /// The status before (nil: no such job).
        public var statusBefore: String?
        public var type: String?
        public var moved: Bool
    }

    /// `ids` must be valid UUIDs (see JobID).
    public func retry(ids: [String]) throws(PostgresError) -> [RetryResult] {
        try connection.query(Queries.retryJobs(table), [PostgresArray.literal(ids)]).values.map {
            RetryResult(id: $0[0] ?? "", statusBefore: $0[1], type: $0[2], moved: $0[3] == "t")
        }
    }

    /// Every failed job (of `type` when given) back to pending; counts by type.
    public func retryFailed(type: String?) throws(PostgresError) -> [(type: String, jobs: Int)] {
        try connection.query(Queries.retryFailed(table), [type]).values.map { (type: $0[0] ?? "", jobs: Int($0[1] ?? "") ?? 0) }
    }

    /// Deletes completed and failed jobs finished more than `olderThan` seconds ago, `chunk` rows
    /// per statement, until none is left (or `stop` says so between chunks). Counts by status.
    public func prune(olderThan: Double, chunk: Int, stop: () -> Bool = { false },
                      progress: ([String: Int]) -> Void = { _ in }) throws(PostgresError) -> [String: Int] {
        var total: [String: Int] = [:]
        while true {
            let rows = try connection.query(Queries.pruneChunk(table), [String(olderThan), String(chunk)])
            var deleted = 0
            for row in rows.values {
                let jobs = Int(row[1] ?? "") ?? 0
                total[row[0] ?? "", default: 0] += jobs
                deleted += jobs
            }
            progress(total)
            if deleted < chunk || stop() { return total }
        }
    }

    /// What became of one id given to `cancel`.
    public struct CancelResult: Sendable, Equatable {
        public var id: String
        /// The status before (nil: no such job).
        public var statusBefore: String?
        public var type: String?
        /// Failed (it was pending) or marked (it was processing).
        public var cancelled: Bool
        public var statusAfter: String?
    }

    /// `ids` must be valid UUIDs (see JobID).
    public func cancel(ids: [String]) throws(PostgresError) -> [CancelResult] {
        try connection.query(Queries.cancelJobs(table), [PostgresArray.literal(ids)]).values.map {
            CancelResult(id: $0[0] ?? "", statusBefore: $0[1], type: $0[2], cancelled: $0[3] == "t", statusAfter: $0[4])
        }
    }

    /// A route's pause: until when (Unix seconds; infinity: until resumed) and why.
    public struct Pause: Sendable, Equatable {
        public var until: Double
        public var reason: String

        public init(until: Double, reason: String) {
            self.until = until
            self.reason = reason
        }
    }

    /// Pauses `type` for `seconds` (nil: until resumed) for every runner; a longer pause in force
    /// stays. Returns the pause in force afterwards.
    public func pause(type: String, seconds: Double?, reason: String) throws(PostgresError) -> Pause? {
        try connection.query(Queries.pauseRoute, [type, seconds.map { String($0) }, reason]).values.first.map {
            Pause(until: Double($0[0] ?? "") ?? 0, reason: $0[1] ?? "")
        }
    }

    /// Ends the pause of `type`; returns the reason of the pause it ended, nil when none was in force.
    public func resume(type: String) throws(PostgresError) -> String? {
        try connection.query(Queries.resumeRoute, [type]).values.first?.first ?? nil
    }

    /// A route's shared state, as `status` shows it.
    public struct RouteState: Sendable, Equatable {
        public var type: String
        /// The rate's theoretical arrival time (Unix seconds): starts are booked until then. Nil:
        /// no runner has limited its rate.
        public var rateBookedUntil: Double?
        /// Live leases of the type, across all runners.
        public var inFlight: Int
        public var pause: Pause?
        /// The users with the most due jobs, most first ("" stands for jobs without a user_id).
        public var topUsers: [(user: String?, jobs: Int)]

        public init(type: String, rateBookedUntil: Double? = nil, inFlight: Int = 0, pause: Pause? = nil,
                    topUsers: [(user: String?, jobs: Int)] = []) {
            self.type = type
            self.rateBookedUntil = rateBookedUntil
            self.inFlight = inFlight
            self.pause = pause
            self.topUsers = topUsers
        }

        public static func == (lhs: RouteState, rhs: RouteState) -> Bool {
            lhs.type == rhs.type && lhs.rateBookedUntil == rhs.rateBookedUntil && lhs.inFlight == rhs.inFlight
                && lhs.pause == rhs.pause && lhs.topUsers.map(\.user) == rhs.topUsers.map(\.user)
                && lhs.topUsers.map(\.jobs) == rhs.topUsers.map(\.jobs)
        }
    }

    /// The routes of `types` and every route with shared state, each with its `topUsers` users
    /// with the most due jobs.
    public func routeStates(types: [String], topUsers: Int) throws(PostgresError) -> [RouteState] {
        var users: [String: [(user: String?, jobs: Int)]] = [:]
        for row in try connection.query(Queries.topDueUsers(table), [String(topUsers)]).values {
            users[row[0] ?? "", default: []].append((row[1], Int(row[2] ?? "") ?? 0))
        }
        return try connection.query(Queries.routeStates(table), [PostgresArray.literal(types)]).values.map { row in
            RouteState(type: row[0] ?? "", rateBookedUntil: row[1].flatMap { Double($0) }, inFlight: Int(row[2] ?? "") ?? 0,
                       pause: row[3].flatMap { Double($0) }.map { Pause(until: $0, reason: row[4] ?? "") },
                       topUsers: users[row[0] ?? ""] ?? [])
        }
    }

    /// Inserts the job and returns its id.
    public func enqueue(_ request: EnqueueRequest) throws(PostgresError) -> String {
        let statement = CompactStatement(Queries.enqueue(table, maxRetries: request.maxRetries != nil, runAt: request.runAt?.kind))
        var parameters: [String?] = [request.type, request.payload, request.userId]
        if let maxRetries = request.maxRetries { parameters.append(String(maxRetries)) }
        if let runAt = request.runAt { parameters.append(runAt.parameter) }
        return try connection.query(statement.sql, statement.parameters(parameters)).values[0][0] ?? ""
    }
}
