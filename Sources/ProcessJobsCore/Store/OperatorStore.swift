import PostgresClient

/// The operator commands' side of job_queue: reads for status, check, dry runs and metrics, and
/// the few writes an operator makes by hand (retry, prune, enqueue). Statements: OperatorQueries.
public final class OperatorStore {
    public let connection: Connection

    public init(connection: Connection) {
        self.connection = connection
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
        let rows = try connection.query(Queries.queueSummary, [String(lease)])
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
        try connection.query(Queries.expiredLeases, [String(lease), String(limit)]).values.map {
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
        try connection.query(Queries.topErrors, [String(seconds), String(limit)]).values.map {
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
        try connection.query(Queries.recentFailures, [String(seconds), String(limit)]).values.map { row in
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
        try connection.query(Queries.dueJobs, [
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
        try connection.query(Queries.retryJobs, [PostgresArray.literal(ids)]).values.map {
            RetryResult(id: $0[0] ?? "", statusBefore: $0[1], type: $0[2], moved: $0[3] == "t")
        }
    }

    /// Every failed job (of `type` when given) back to pending; counts by type.
    public func retryFailed(type: String?) throws(PostgresError) -> [(type: String, jobs: Int)] {
        try connection.query(Queries.retryFailed, [type]).values.map { (type: $0[0] ?? "", jobs: Int($0[1] ?? "") ?? 0) }
    }

    /// Deletes completed and failed jobs finished more than `olderThan` seconds ago, `chunk` rows
    /// per statement, until none is left (or `stop` says so between chunks). Counts by status.
    public func prune(olderThan: Double, chunk: Int, stop: () -> Bool = { false },
                      progress: ([String: Int]) -> Void = { _ in }) throws(PostgresError) -> [String: Int] {
        var total: [String: Int] = [:]
        while true {
            let rows = try connection.query(Queries.pruneChunk, [String(olderThan), String(chunk)])
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

    /// Inserts the job and returns its id.
    public func enqueue(_ request: EnqueueRequest) throws(PostgresError) -> String {
        let sql = Queries.enqueue(maxRetries: request.maxRetries != nil, runAt: request.runAt?.kind)
        var parameters: [String?] = [request.type, request.payload, request.userId]
        if let maxRetries = request.maxRetries { parameters.append(String(maxRetries)) }
        if let runAt = request.runAt { parameters.append(runAt.parameter) }
        return try connection.query(sql, parameters).values[0][0] ?? ""
    }
}
