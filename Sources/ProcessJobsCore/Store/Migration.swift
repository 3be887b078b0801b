import PostgresClient

/// The schema upgrade, printed by `migrate --print` and shipped as deploy/migration.sql.
/// `migrate` first compares the catalog with what the migration makes (no lock), and runs it
/// only when something differs; the script itself changes only what differs, so pasting it
/// again takes no table lock either.
public enum Migration {
    /// Columns and indexes the run needs; `check` and `migrate` compare against these.
    public static let addedColumns = ["run_at", "locked_until", "locked_by", "result", "updated_at", "cancelled_at"]
    public static let indexes = ["job_queue_claim_idx", "job_queue_lease_idx", "job_queue_fair_idx"]
    /// Flow control's tables, in a schema of their own (never exposed through Supabase's Data API).
    public static let tables = ["process_jobs.schema_version", "process_jobs.route_state", "process_jobs.route_pause"]
    /// Listen mode's triggers on job_queue (ListenQueries.trigger).
    public static let triggers = ["job_queue_notify_inserted", "job_queue_notify_due_again"]

    /// `locked_by` of a job the Edge Function holds through the redefined functions.
    public static let edgeFunctionLockedBy = "edge-function:process-jobs"
    /// Its lease, seconds: the run's default (2 × 120s request timeout + 60s).
    public static let edgeFunctionLease = 300

    /// How long the migration may wait for a table lock before it gives up (exit 75).
    public static let lockTimeout = "5s"

    /// A lease no Edge Function call may override: a processing row held by someone else (a
    /// process-jobs run) until a time still to come.
    private static let foreignLiveLease = """
        (status = 'processing' AND locked_until > now() AND locked_by IS DISTINCT FROM '\(edgeFunctionLockedBy)') IS NOT TRUE
        """

    /// The Edge Function's four functions, same signatures, redefined for running beside
    /// process-jobs: signature as to_regprocedure reads it, the CREATE line, and the body
    /// (compared with pg_proc.prosrc to tell whether a database has them).
    static let functionDefinitions: [(signature: String, create: String, body: String)] = [
        ("get_next_job()", "get_next_job() RETURNS SETOF job_queue", """

                -- Due jobs only (run_at), never one under a live lease; taken and leased in one
                -- statement, so neither another tick nor process-jobs can take it before
                -- mark_job_processing().
                UPDATE job_queue j SET
                    status = 'processing', processed_at = now(), updated_at = now(),
                    locked_until = now() + make_interval(secs => \(edgeFunctionLease)), locked_by = '\(edgeFunctionLockedBy)'
                FROM (
                    SELECT id FROM job_queue
                    WHERE status = 'pending' AND run_at <= now() AND (locked_until IS NULL OR locked_until <= now())
                    ORDER BY created_at
                    LIMIT 1
                    FOR UPDATE SKIP LOCKED
                ) due
                WHERE j.id = due.id
                RETURNING j.*

            """),
        ("mark_job_processing(uuid)", "mark_job_processing(job_id uuid) RETURNS void", """

                -- A lease as long as a process-jobs run's default, so a run rescues the job only if
                -- the Edge Function died with it.
                UPDATE job_queue SET
                    status = 'processing', processed_at = now(), updated_at = now(),
                    locked_until = now() + make_interval(secs => \(edgeFunctionLease)), locked_by = '\(edgeFunctionLockedBy)'
                WHERE id = job_id AND \(foreignLiveLease)

            """),
        ("mark_job_completed(uuid)", "mark_job_completed(job_id uuid) RETURNS void", """

                UPDATE job_queue SET
                    status = 'completed', completed_at = now(), updated_at = now(), locked_until = NULL, locked_by = NULL
                WHERE id = job_id AND \(foreignLiveLease)

            """),
        ("mark_job_failed(uuid,text)", "mark_job_failed(job_id uuid, error_msg text) RETURNS void", """

                -- retry_count counts the retries granted, as process-jobs counts them.
                UPDATE job_queue SET
                    retry_count = coalesce(retry_count, 0)
                        + CASE WHEN coalesce(retry_count, 0) < coalesce(max_retries, 3) THEN 1 ELSE 0 END,
                    error_message = error_msg,
                    status = CASE WHEN coalesce(retry_count, 0) < coalesce(max_retries, 3) THEN 'pending' ELSE 'failed' END,
                    updated_at = now(), locked_until = NULL, locked_by = NULL
                WHERE id = job_id AND \(foreignLiveLease)

            """),
    ]

    /// The four functions' signatures.
    public static var functions: [String] { functionDefinitions.map(\.signature) }

    /// Taken first, in the migration's transaction: one migrator at a time, and a bounded wait
    /// for the table lock. Both end with the transaction (no session state).
    static let lockStatements = [
        "SELECT pg_advisory_xact_lock(hashtext('process-jobs migrate'))",
        "SET LOCAL lock_timeout = '\(lockTimeout)'",
    ]

    /// The CREATE OR REPLACE statement of each function, by signature.
    static let functionStatements: [(signature: String, sql: String)] = functionDefinitions.map {
        ($0.signature, "CREATE OR REPLACE FUNCTION \($0.create) LANGUAGE sql AS $fn$\($0.body)$fn$;\n")
    }

    /// The table, its columns and indexes; each part only when the catalog says it is missing.
    static let tableChanges = """
        -- The original table, for a new install; an existing one is left as it is.
        CREATE TABLE IF NOT EXISTS job_queue (
            id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            job_type text NOT NULL,
            payload jsonb NOT NULL,
            status text DEFAULT 'pending' CHECK (status IN ('pending', 'processing', 'completed', 'failed')),
            retry_count integer DEFAULT 0,
            max_retries integer DEFAULT 3,
            error_message text,
            created_at timestamptz DEFAULT now(),
            processed_at timestamptz,
            completed_at timestamptz,
            user_id text
        );

        -- Columns and indexes, each only when missing: ALTER TABLE and CREATE INDEX lock the table
        -- even when IF NOT EXISTS then finds nothing to do.
        DO $migration$
        DECLARE
            api_role text;
        BEGIN
            IF NOT EXISTS (SELECT FROM pg_attribute WHERE attrelid = to_regclass('job_queue') AND attname = 'run_at' AND NOT attisdropped) THEN
                -- Earliest time a pending job may run (backoff). now() is stable, so the column is
                -- added without a table rewrite; then jobs still waiting are due since they were
                -- created, so their age reads true. Finished rows keep the migration's time:
                -- rewriting them all would hold the lock for the whole table.
                ALTER TABLE job_queue ADD COLUMN run_at timestamptz NOT NULL DEFAULT now();
                UPDATE job_queue SET run_at = created_at
                WHERE created_at < run_at AND (status IS NULL OR status NOT IN ('completed', 'failed'));
            END IF;
            -- The lease of a processing job: until when, and who holds it (host:pid).
            IF NOT EXISTS (SELECT FROM pg_attribute WHERE attrelid = to_regclass('job_queue') AND attname = 'locked_until' AND NOT attisdropped) THEN
                ALTER TABLE job_queue ADD COLUMN locked_until timestamptz;
            END IF;
            IF NOT EXISTS (SELECT FROM pg_attribute WHERE attrelid = to_regclass('job_queue') AND attname = 'locked_by' AND NOT attisdropped) THEN
                ALTER TABLE job_queue ADD COLUMN locked_by text;
            END IF;
            -- The endpoint's JSON answer on success.
            IF NOT EXISTS (SELECT FROM pg_attribute WHERE attrelid = to_regclass('job_queue') AND attname = 'result' AND NOT attisdropped) THEN
                ALTER TABLE job_queue ADD COLUMN result jsonb;
            END IF;
            IF NOT EXISTS (SELECT FROM pg_attribute WHERE attrelid = to_regclass('job_queue') AND attname = 'updated_at' AND NOT attisdropped) THEN
                ALTER TABLE job_queue ADD COLUMN updated_at timestamptz;
            END IF;
            -- Serves the claim: pending jobs of one type, oldest first. Partial, so completed and
            -- failed rows (the bulk of an old table) cost it nothing.
            IF to_regclass('job_queue_claim_idx') IS NULL THEN
                CREATE INDEX job_queue_claim_idx ON job_queue (job_type, created_at) WHERE status = 'pending';
            END IF;
            -- Serves lease rescue and the count of live leases (flow control): the few processing rows.
            IF to_regclass('job_queue_lease_idx') IS NULL THEN
                CREATE INDEX job_queue_lease_idx ON job_queue (locked_until) WHERE status = 'processing';
            END IF;
            -- Set by `process-jobs cancel` on a processing job: its outcome may no longer schedule a retry.
            IF NOT EXISTS (SELECT FROM pg_attribute WHERE attrelid = to_regclass('job_queue') AND attname = 'cancelled_at' AND NOT attisdropped) THEN
                ALTER TABLE job_queue ADD COLUMN cancelled_at timestamptz;
            END IF;
            -- Serves the fair claim: the next user with pending jobs of a type (a skip scan), and a
            -- user's oldest jobs; jobs without a user_id are one group, ''. Partial, like the claim index.
            IF to_regclass('job_queue_fair_idx') IS NULL THEN
                CREATE INDEX job_queue_fair_idx ON job_queue (job_type, (coalesce(user_id, '')), created_at) WHERE status = 'pending';
            END IF;

            -- Flow control's shared state, in a schema of its own: nothing for PUBLIC (so not for
            -- Supabase's anon and authenticated roles), and not in the Data API's exposed schemas.
            IF to_regnamespace('process_jobs') IS NULL THEN
                CREATE SCHEMA process_jobs;
                REVOKE ALL ON SCHEMA process_jobs FROM PUBLIC;
            END IF;
            -- The version `migrate` made, read by every runner before it claims.
            IF to_regclass('process_jobs.schema_version') IS NULL THEN
                CREATE TABLE process_jobs.schema_version (
                    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
                    version integer NOT NULL,
                    migrated_at timestamptz NOT NULL DEFAULT now()
                );
            END IF;
            -- One row per job type, written by the claims under the row's lock: the rate's
            -- theoretical arrival time (GCRA), the claim sequence (bumped by every claim that takes
            -- jobs of the type: a claim that finds it moved since its snapshot takes nothing), and
            -- the fair claim's cursor (the last user served). The row '*' sequences the claims
            -- under --user-concurrency, which spans types.
            IF to_regclass('process_jobs.route_state') IS NULL THEN
                CREATE TABLE process_jobs.route_state (
                    job_type text PRIMARY KEY,
                    tat timestamptz,
                    claim_seq bigint NOT NULL DEFAULT 0,
                    fair_cursor text,
                    updated_at timestamptz NOT NULL DEFAULT now()
                );
                INSERT INTO process_jobs.route_state (job_type) VALUES ('*');
            END IF;
            -- Pauses (a 429/503 seen by any runner, or `process-jobs pause`), apart from route_state
            -- so that writing one never waits for a claim holding the route's row.
            IF to_regclass('process_jobs.route_pause') IS NULL THEN
                CREATE TABLE process_jobs.route_pause (
                    job_type text PRIMARY KEY,
                    paused_until timestamptz NOT NULL,
                    reason text NOT NULL,
                    updated_at timestamptz NOT NULL DEFAULT now()
                );
            END IF;
            -- Default privileges (Supabase grants new tables to anon and authenticated in some
            -- projects) must not open them.
            FOR api_role IN SELECT rolname FROM pg_roles WHERE rolname IN ('anon', 'authenticated') LOOP
                IF EXISTS (SELECT FROM information_schema.role_table_grants
                           WHERE table_schema = 'process_jobs' AND grantee = api_role) THEN
                    EXECUTE format('REVOKE ALL ON ALL TABLES IN SCHEMA process_jobs FROM %I', api_role);
                END IF;
            END LOOP;
            IF NOT EXISTS (SELECT FROM process_jobs.schema_version WHERE version >= \(SchemaVersion.current)) THEN
                INSERT INTO process_jobs.schema_version (version) VALUES (\(SchemaVersion.current))
                ON CONFLICT (singleton) DO UPDATE SET version = EXCLUDED.version, migrated_at = now();
            END IF;
        END
        $migration$;

        -- Listen mode (`run --listen`): a notification on channel process_jobs when a job becomes
        -- due now; a bulk insert sends one, and the runs' own updates call nothing. The functions
        -- are replaced, the triggers created only when missing.
        \(ListenQueries.trigger)
        """

    /// Everything that changes the schema.
    static let changes = """
        \(tableChanges)

        -- The Edge Function's four functions, same signatures, made safe to run beside process-jobs
        -- during the cut-over (docs/supabase.md has the SQL that restores the original bodies).
        \(functionStatements.map(\.sql).joined(separator: "\n"))
        """

    public static let sql = """
        -- process-jobs schema migration \(SchemaVersion.current): upgrades the original job_queue table in place,
        -- adds flow control's shared state (schema process_jobs) and the trigger listeners wake on.
        -- Additive and idempotent: it adds only what is missing (no table lock when nothing is),
        -- keeps rows in every state as they are, and redefines the Edge Function's four functions so
        -- that the old Edge Function can keep running beside process-jobs until it is switched off.
        -- Paste it whole into the Supabase SQL editor, or run `process-jobs migrate`.
        BEGIN;

        -- One migrator at a time; a second one waits here, then finds nothing left to do.
        \(lockStatements[0]);
        -- Adding a column needs a brief exclusive lock: give up rather than queue the app behind a long query.
        \(lockStatements[1]);

        \(changes)
        COMMIT;

        """

    /// Columns, indexes (and "id" for no table) the run needs that the schema lacks, read from
    /// the catalog: empty when migrated.
    /// A recorded version below SchemaVersion.current reads "schema version".
    public static func missing(on connection: Connection) throws(PostgresError) -> [String] {
        var missing = try connection.query(Queries.missingSchema, [PostgresArray.literal(["id"] + addedColumns),
                                                                   PostgresArray.literal(indexes + tables)])
            .values.compactMap { $0[0] }
        if !missing.contains("process_jobs.schema_version") {
            let recorded = try connection.query(Queries.recordedSchemaVersion).values.first?.first ?? nil
            if (recorded.flatMap { Int($0) } ?? 0) < SchemaVersion.current { missing.append("schema version") }
        }
        return missing
    }

    /// The Edge Function's functions that are absent or not the migration's version.
    public static func outdated(on connection: Connection) throws(PostgresError) -> [String] {
        try outdatedFunctions(on: connection).map(\.signature)
    }

    /// Each outdated function, and the role that owns it when that is not (a role of) the
    /// connected one, which then cannot redefine it.
    static func outdatedFunctions(on connection: Connection) throws(PostgresError) -> [(signature: String, foreignOwner: String?)] {
        try connection.query(Queries.outdatedFunctions, [PostgresArray.literal(functionDefinitions.map(\.signature)),
                                                         PostgresArray.literal(functionDefinitions.map(\.body))])
            .values.map { ($0[0] ?? "", $0[1]) }
    }

    /// What the migration would change (`changes`, as `migrate` reports them; empty when up to
    /// date), and the outdated functions this role may not redefine, with their owners.
    public struct Plan: Sendable, Equatable {
        public var changes: [String] = []
        public var skipped: [String: String] = [:]
        var table: Bool { !changes.isEmpty && changes.contains { !Migration.functions.contains($0) } }
    }

    public static func plan(on connection: Connection) throws(PostgresError) -> Plan {
        let missing = try missing(on: connection)
        var plan = Plan()
        plan.changes = missing.contains("id") ? ["job_queue table"] + addedColumns + indexes + tables : missing
        if !missing.contains("id") {
            plan.changes += try connection.query(Queries.missingTriggers, [PostgresArray.literal(triggers)]).values.compactMap { $0[0] }
        }
        for function in try outdatedFunctions(on: connection) {
            if let owner = function.foreignOwner, !missing.contains("id") {
                plan.skipped[function.signature] = owner
            } else {
                plan.changes.append(function.signature)
            }
        }
        return plan
    }

    /// Runs the migration when something is missing, and says what it changed (`changes` empty:
    /// nothing, the schema was up to date) and which functions it left because another role owns
    /// them. Takes no lock when nothing is missing; under the migrators' advisory lock it looks
    /// again, so of several concurrent migrations only the one that changed something says so.
    /// A table lock it cannot get within `lockTimeout` ends it with `.lockTimeout`, naming what
    /// held the lock, with nothing changed.
    public static func apply(on connection: Connection) throws(MigrationError) -> Plan {
        do {
            let plan = try plan(on: connection)
            guard !plan.changes.isEmpty else { return plan }
            try connection.query("BEGIN")
        } catch {
            throw .database(error)
        }
        var holders: [LockHolder]?
        do {
            for statement in lockStatements { try connection.query(statement) }
            let plan = try plan(on: connection)
            guard !plan.changes.isEmpty else {
                try connection.query("COMMIT")
                return plan
            }
            if plan.table && !plan.changes.contains("job_queue table") {
                holders = try lockTable(on: connection)
            }
            if holders == nil {
                if plan.table { try connection.execute(script: tableChanges) }
                for function in functionStatements where plan.changes.contains(function.signature) {
                    try connection.execute(script: function.sql)
                }
                try connection.query("COMMIT")
                return plan
            }
            try connection.query("ROLLBACK")
        } catch {
            _ = try? connection.query("ROLLBACK")
            throw .database(error)
        }
        throw .lockTimeout(holders ?? [])
    }

    /// ACCESS EXCLUSIVE on job_queue within lockTimeout: nil once held; else who holds it.
    private static func lockTable(on connection: Connection) throws(PostgresError) -> [LockHolder]? {
        try connection.query("SAVEPOINT before_table_lock")
        do {
            try connection.query(Queries.lockTable)
            return nil
        } catch {
            guard error.sqlState == "55P03" else { throw error }
        }
        try connection.query("ROLLBACK TO SAVEPOINT before_table_lock")
        return try connection.query(Queries.lockHolders).values.map(LockHolder.init(row:))
    }
}

/// Why `migrate` stopped.
public enum MigrationError: Error {
    case database(PostgresError)
    /// The table lock was not granted within Migration.lockTimeout; these sessions held it.
    case lockTimeout([LockHolder])
}

/// A session holding a lock on job_queue, as pg_stat_activity shows it.
public struct LockHolder: Sendable, Equatable {
    public var pid: String
    public var user: String
    public var application: String
    public var state: String
    /// How long its transaction (or else its query) has been going, seconds.
    public var seconds: Double
    public var query: String

    init(row: [String?]) {
        pid = row[0] ?? "?"
        user = row[1] ?? ""
        application = row[2] ?? ""
        state = row[3] ?? ""
        seconds = Double(row[4] ?? "") ?? 0
        query = row[5] ?? ""
    }

    public init(pid: String, user: String, application: String, state: String, seconds: Double, query: String) {
        self.pid = pid
        self.user = user
        self.application = application
        self.state = state
        self.seconds = seconds
        self.query = query
    }
}
