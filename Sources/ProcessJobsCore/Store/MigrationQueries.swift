/// The statements `migrate` and `check` use to compare the schema with the migration's, and to
/// say who holds the table when the migration cannot lock it. The migration's own DDL is
/// Migration.sql.
extension Queries {
    /// Of the columns $1 (the first is "id": no table at all) and indexes $2, those the schema lacks.
    ///
    /// Concurrency: a catalog read; takes no lock on job_queue, so it never waits nor holds the app up.
    static let missingSchema = """
        SELECT c.name FROM unnest($1::text[]) AS c(name)
        WHERE NOT EXISTS (
            SELECT 1 FROM information_schema.columns
            WHERE table_schema = current_schema() AND table_name = 'job_queue' AND column_name = c.name)
        UNION ALL
        SELECT i.name FROM unnest($2::text[]) AS i(name)
        WHERE to_regclass(i.name) IS NULL
        """

    /// Of listen mode's triggers $1 (names), those job_queue lacks: a migration before the
    /// UPDATE's became row-level has the other one, so `migrate` has work though the schema
    /// version is the same (the runs do not depend on which trigger notifies).
    ///
    /// Concurrency: a catalog read, no lock.
    static let missingTriggers = """
        SELECT t.name FROM unnest($1::text[]) AS t(name)
        WHERE NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = to_regclass('job_queue') AND tgname = t.name)
        """

    /// The schema version `migrate` recorded (0 when none is). Only sent once the table exists.
    ///
    /// Concurrency: a plain read of one row, no lock.
    static let recordedSchemaVersion = "SELECT coalesce(max(version), 0) FROM process_jobs.schema_version"

    /// Of the functions $1 (signatures), those absent or whose body is not $2's (the same position):
    /// the schema's fingerprint for the four functions the migration redefines. With each, its
    /// owner when the current role lacks the owner's privileges (and so cannot redefine it).
    ///
    /// Concurrency: a catalog read, no lock.
    static let outdatedFunctions = """
        SELECT f.signature,
               (SELECT p.proowner::regrole::text FROM pg_proc p
                WHERE p.oid = to_regprocedure(f.signature) AND NOT pg_has_role(current_user, p.proowner, 'USAGE'))
        FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS f(signature, body, position)
        WHERE NOT EXISTS (SELECT 1 FROM pg_proc p WHERE p.oid = to_regprocedure(f.signature) AND p.prosrc = f.body)
        ORDER BY f.position
        """

    /// Taken inside the migration's transaction, only when a column or index is to be added, and
    /// bounded by its `SET LOCAL lock_timeout`.
    ///
    /// Concurrency: waits at most lock_timeout behind open transactions on the table (the app's
    /// inserts queue behind it that long at most); released at COMMIT or ROLLBACK.
    static let lockTable = "LOCK TABLE job_queue IN ACCESS EXCLUSIVE MODE"

    /// Sessions holding a lock on job_queue (any mode conflicts with ACCESS EXCLUSIVE): pid, user,
    /// application, state, seconds in their transaction, and the start of their query. Those
    /// waiting behind them come last.
    ///
    /// Concurrency: reads pg_locks and pg_stat_activity only.
    static let lockHolders = """
        SELECT a.pid::text, coalesce(a.usename::text, ''), coalesce(a.application_name, ''), coalesce(a.state, ''),
               extract(epoch FROM clock_timestamp() - coalesce(a.xact_start, a.query_start, clock_timestamp()))::float8,
               left(coalesce(a.query, ''), 200)
        FROM pg_stat_activity a
        WHERE a.pid <> pg_backend_pid()
          AND a.pid IN (SELECT l.pid FROM pg_locks l
                        WHERE l.locktype = 'relation' AND l.relation = to_regclass('job_queue')
                          AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()))
        ORDER BY (SELECT bool_and(l.granted) FROM pg_locks l WHERE l.pid = a.pid AND l.relation = to_regclass('job_queue')) DESC,
                 a.xact_start NULLS LAST
        LIMIT 3
        """
}
