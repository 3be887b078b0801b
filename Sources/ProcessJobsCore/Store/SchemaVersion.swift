/// The version of the schema `migrate` makes, recorded in process_jobs.schema_version, so that a
/// runner can tell a database it cannot use safely (older: the flow-control tables or columns it
/// relies on are missing) from one migrated by a newer release (which it may not fully honour:
/// say so, and go on). Pure: the engine reads the recorded version with `JobStore.probe`.
public enum SchemaVersion {
    /// 2: run_at, leases, result, the claim and lease indexes. 3: flow control (process_jobs
    /// schema: schema_version, route_state, route_pause; job_queue.cancelled_at; the fair-claim index).
    /// 4: the trigger that notifies channel process_jobs when a job becomes due (`run --listen`).
    public static let current = 4

    public static func check(found: Int) -> SchemaCheck {
        if found < current { return .older(found: found, needed: current) }
        if found > current { return .newer(found: found, known: current) }
        return .current
    }
}

/// How the recorded schema version compares with this runner's.
public enum SchemaCheck: Equatable, Sendable {
    case current
    /// The runner refuses it (exit 78): "run process-jobs migrate".
    case older(found: Int, needed: Int)
    /// Migrated by a newer release: one warning line, the run goes on.
    case newer(found: Int, known: Int)
}
