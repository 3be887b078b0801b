/// The operator commands' statements (status, retry, prune, enqueue, check, dry run, metrics).
/// Like the run's, each takes every value as a parameter and is sent unnamed, so it works behind a
/// transaction-mode pooler. Each says why it is safe next to runs on any number of hosts.
extension Queries {
    /// Per job type and status: counts, due jobs, how long the longest-waiting due job has been due,
    /// the next future run_at, and processing rows whose lease has expired. $1 lease seconds (for
    /// legacy processing rows without locked_until, as the run's rescue judges them).
    ///
    /// Ages are differences of epochs, not of timestamps: a row's run_at may be -infinity (due
    /// forever: Infinity seconds), where timestamp subtraction fails.
    ///
    /// Concurrency: a plain read of one snapshot, no row locks: it never waits for a run nor holds one up.
    static func queueSummary(_ t: TableSQL) -> String {
        let pending = "\(t.status("")) = \(t.word(.pending))", runAt = t.column("", "run_at")
        return """
            SELECT \(t.jobTypeAs("")), \(t.statusAs("")), count(*) AS jobs,
                   count(*) FILTER (WHERE \(pending) AND \(runAt) <= now()) AS due,
                   (extract(epoch FROM now()) - extract(epoch FROM min(\(runAt)) FILTER (WHERE \(pending) AND \(runAt) <= now())))::float8
                       AS oldest_due_seconds,
                   extract(epoch FROM min(\(runAt)) FILTER (WHERE \(pending) AND \(runAt) > now()))::float8
                       AS next_retry_at,
                   count(*) FILTER (WHERE \(t.status("")) = \(t.word(.processing)) AND (\(t.column("", "locked_until")) < now()
                       OR (\(t.column("", "locked_until")) IS NULL AND coalesce(\(t.claimedAt("")), \(t.createdTime(""))) < now() - make_interval(secs => $1))))
                       AS expired_leases,
                   extract(epoch FROM now())::float8 AS now
            FROM \(t.table)
            GROUP BY \(t.groupByTypeAndStatus)
            ORDER BY \(t.groupByTypeAndStatus)
            """
    }

    /// The database's clock, for a summary of an empty table. Concurrency: reads no table.
    static let databaseNow = "SELECT extract(epoch FROM now())::float8"

    /// Processing rows past their lease, longest expired first. $1 lease seconds, $2 at most this many.
    ///
    /// Concurrency: a plain read, no locks; the next run's rescue (FOR UPDATE SKIP LOCKED) acts on them.
    static func expiredLeases(_ t: TableSQL) -> String {
        let lockedUntil = t.column("", "locked_until"), started = "coalesce(\(t.claimedAt("")), \(t.createdTime("")))"
        return """
            SELECT \(t.idAs("")), \(t.jobTypeAs("")), \(t.column("", "locked_by")), coalesce(\(t.column("", "retry_count")), 0) AS retry_count,
                   (extract(epoch FROM now()) - extract(epoch FROM coalesce(\(lockedUntil),
                       \(started) + make_interval(secs => $1))))::float8 AS expired_seconds
            FROM \(t.table)
            WHERE \(t.status("")) = \(t.word(.processing))
              AND (\(lockedUntil) < now()
                   OR (\(lockedUntil) IS NULL AND \(started) < now() - make_interval(secs => $1)))
            ORDER BY expired_seconds DESC, id
            LIMIT $2
            """
    }

    /// The most frequent error messages of jobs that failed in the last $1 seconds; $2 at most this many.
    /// Legacy failed rows (the Edge Function's mark_job_failed set no completed_at) fall back to
    /// their other times. Messages are cut to 500 characters for display; grouping is on the whole text.
    ///
    /// Concurrency: a plain read, no locks.
    static func topErrors(_ t: TableSQL) -> String {
        let error = t.error("") ?? "NULL::text"
        return """
            SELECT left(\(error), 500) AS message, count(*) AS jobs,
                   string_agg(DISTINCT \(t.jobType("")), E'\\n') AS types,
                   extract(epoch FROM max(\(t.finishedTime)))::float8 AS last_at
            FROM \(t.table)
            WHERE \(t.status("")) = \(t.word(.failed)) AND \(error) IS NOT NULL
              AND \(t.finishedTime) >= now() - make_interval(secs => $1)
            GROUP BY \(error)
            ORDER BY jobs DESC, last_at DESC, message
            LIMIT $2
            """
    }

    /// The last $2 jobs that failed in the last $1 seconds, newest first, each with the failure job
    /// a run with --on-failure queued for it (the newest, when `retry` let it fail again), found by
    /// payload->>'failedJobId' among rows created since the oldest of these failures (a failure job
    /// is created by the statement that records the failure, with the same now()). One pass over
    /// the table, like the summary; only the payloads of rows that recent are looked into.
    ///
    /// Concurrency: a plain read, no locks.
    static func recentFailures(_ t: TableSQL) -> String {
        """
        WITH failed AS MATERIALIZED (
            SELECT \(t.idAs("")), \(t.jobTypeAs("")), left(\(t.error("") ?? "NULL::text"), 500) AS message,
                   \(t.finishedTime) AS failed_at
            FROM \(t.table)
            WHERE \(t.status("")) = \(t.word(.failed))
              AND \(t.finishedTime) >= now() - make_interval(secs => $1)
            ORDER BY failed_at DESC, id
            LIMIT $2
        ),
        notice AS (
            SELECT DISTINCT ON (n.payload->>'failedJobId') n.payload->>'failedJobId' AS failed_job_id,
                   n.id, n.job_type, n.status
            FROM job_queue n
            -- The CASE looks into a payload only for a row created since the oldest failure.
            WHERE CASE WHEN n.created_at >= (SELECT min(failed_at) FROM failed) THEN n.payload->>'failedJobId' END
                  IN (SELECT id::text FROM failed)
            ORDER BY n.payload->>'failedJobId', n.created_at DESC, n.id
        )
        SELECT f.id::text, f.job_type, f.message, extract(epoch FROM f.failed_at)::float8,
               n.id::text, n.job_type, n.status
        FROM failed f LEFT JOIN notice n ON n.failed_job_id = f.id::text
        ORDER BY f.failed_at DESC, f.id
        """
    }

    /// Named jobs back to pending. $1 ids (uuid[]). Returns one row per id: its status before, and
    /// whether it moved.
    ///
    /// Concurrency: only failed or pending rows change, never processing (a run holds those under a
    /// lease) nor completed; the UPDATE locks each row and re-checks its status at that moment, so
    /// a claim that got there first wins and the row is reported as not moved.
    static func retryJobs(_ t: TableSQL) -> String {
        """
        WITH target AS (
            SELECT DISTINCT unnest($1::\(t.idType)[]) AS id
        ),
        moved AS (
            UPDATE \(t.table) j SET
                \(retrySets(t))
            FROM target t
            WHERE \(t.id("j")) = t.id AND \(t.status("j")) IN (\(t.word(.failed)), \(t.word(.pending)))
            RETURNING \(t.idAs("j")), \(t.jobTypeAs("j"))
        )
        SELECT t.id::text AS id, \(t.statusText("q")) AS status_before, \(t.jobType("q")), m.id IS NOT NULL AS moved
        FROM target t
        LEFT JOIN \(t.table) q ON \(t.id("q")) = t.id
        LEFT JOIN moved m ON m.id = t.id
        ORDER BY t.id
        """
    }

    /// What a retry writes: pending, no retries spent, due now, no lease nor cancel.
    private static func retrySets(_ t: TableSQL) -> String {
        let completed = t.profile.completedAt.map { ", \(t.column("", $0.column)) = NULL" } ?? ""
        return "\(t.status("")) = \(t.word(.pending)), \(t.column("", "retry_count")) = 0, \(t.column("", "run_at")) = now()\(completed),\n"
            + "        \(t.column("", "locked_until")) = NULL, \(t.column("", "locked_by")) = NULL, \(t.column("", "cancelled_at")) = NULL\(t.touch)"
    }

    /// Every failed job (of type $1 when not null) back to pending. Returns counts by type.
    ///
    /// Concurrency: only rows whose status is failed when the UPDATE locks them; no run writes a
    /// failed row, and a prune that locked one first (SKIP LOCKED on its side) deletes it instead.
    static func retryFailed(_ t: TableSQL) -> String {
        """
        WITH moved AS (
            UPDATE \(t.table) SET
                \(retrySets(t))
            WHERE \(t.status("")) = \(t.word(.failed)) AND ($1::text IS NULL OR \(t.jobType("")) = $1::text)
            RETURNING \(t.jobTypeAs(""))
        )
        SELECT job_type, count(*) AS jobs FROM moved GROUP BY job_type ORDER BY job_type
        """
    }

    /// Deletes at most $2 completed or failed jobs that finished more than $1 seconds ago; returns
    /// counts by status. Called in a loop until a chunk comes back short.
    ///
    /// Concurrency: one bounded chunk per statement, so locks are held briefly; rows are locked
    /// FOR UPDATE SKIP LOCKED (a row a retry is moving is left for next time) and the status is
    /// re-checked on the locked row, so pending and processing rows are never deleted.
    static func pruneChunk(_ t: TableSQL) -> String {
        let finished = "\(t.status("")) IN (\(t.word(.completed)), \(t.word(.failed)))"
        return """
            WITH doomed AS (
                SELECT \(t.idAs("")) FROM \(t.table)
                WHERE \(finished)
                  AND \(t.finishedTime) < now() - make_interval(secs => $1)
                LIMIT $2
                FOR UPDATE SKIP LOCKED
            ),
            deleted AS (
                DELETE FROM \(t.table) j USING doomed d
                WHERE \(t.id("j")) = d.id AND \(t.status("j")) IN (\(t.word(.completed)), \(t.word(.failed)))
                RETURNING \(t.statusAs("j"))
            )
            SELECT status, count(*) AS jobs FROM deleted GROUP BY status ORDER BY status
            """
    }

    /// A new job, inserted as the app inserts it: job_type, payload, user_id ($1-$3), plus
    /// max_retries and run_at only when given (as $4, $5 in that order), so the table's own
    /// defaults apply otherwise. The statement is one of four fixed texts; values are always
    /// parameters. run_at is "absolute" (Unix seconds) or "relative" (seconds from the database's now()).
    ///
    /// Concurrency: a plain INSERT; the row is claimable once the statement commits.
    static func enqueue(maxRetries: Bool, runAt: RunAt.Kind?) -> String {
        var columns = "job_type, payload, user_id"
        var values = "$1, $2::jsonb, $3"
        var next = 4
        if maxRetries {
            columns += ", max_retries"
            values += ", $\(next)::integer"
            next += 1
        }
        switch runAt {
        case .absolute?:
            columns += ", run_at"
            values += ", to_timestamp($\(next)::float8)"
        case .relative?:
            columns += ", run_at"
            values += ", now() + make_interval(secs => $\(next)::float8)"
        case nil:
            break
        }
        return "INSERT INTO job_queue (\(columns)) VALUES (\(values)) RETURNING id::text"
    }

    /// A new job in a profile's table: a new id when the table has no default for it (a uuid, or
    /// its text: TableSQL.newID), the type (when it is a column), the payload (its column,
    /// or each listed column from the object's field of that name, converted by
    /// jsonb_populate_record to the column's type), the user, the pending word, and created and
    /// updated times (epoch milliseconds too), then max_retries and run_at when given, numbered
    /// as `enqueue(maxRetries:runAt:)` numbers them ($1 type, $2 payload, $3 user); parameters a
    /// table does not use are left out by CompactStatement.
    ///
    /// Concurrency: a plain INSERT, as job_queue's.
    static func enqueue(_ t: TableSQL, maxRetries: Bool, runAt: RunAt.Kind?) -> String {
        guard t != .jobQueue else { return enqueue(maxRetries: maxRetries, runAt: runAt) }
        var columns: [String] = [], values: [String] = []
        if case .generated(let value) = t.newID {
            columns.append(t.id(""))
            values.append(value)
        }
        if case .column(let name) = t.profile.jobType {
            columns.append(t.column("", name))
            values.append("$1")
        }
        switch t.profile.payload {
        case .column(let name):
            columns.append(t.column("", name))
            values.append("$2::jsonb")
        case .columns(let names):
            for name in names {
                columns.append(t.column("", name))
                values.append("(SELECT r.\(TableSQL.quoted(name)) FROM jsonb_populate_record(NULL::\(t.table), $2::jsonb) r)")
            }
        }
        if let user = t.profile.user {
            columns.append(t.column("", user))
            values.append("$3")
        }
        columns.append(t.status(""))
        values.append(t.word(.pending))
        for stamp in [t.profile.createdAt, t.profile.updatedAt].compactMap({ $0 }) {
            columns.append(t.column("", stamp.column))
            values.append(t.now(stamp))
        }
        var next = 4
        if maxRetries {
            columns.append(t.column("", "max_retries"))
            values.append("$\(next)::integer")
            next += 1
        }
        switch runAt {
        case .absolute?:
            columns.append(t.column("", "run_at"))
            values.append("to_timestamp($\(next)::float8)")
        case .relative?:
            columns.append(t.column("", "run_at"))
            values.append("now() + make_interval(secs => $\(next)::float8)")
        case nil:
            break
        }
        return "INSERT INTO \(t.table) (\(columns.joined(separator: ", "))) VALUES (\(values.joined(separator: ", "))) RETURNING \(t.id(""))::text"
    }

    /// What a run would claim now: due pending jobs of the given types ($1, each at most $2 of
    /// them), oldest first, at most $3 in all — the claim's own order, without its locks.
    ///
    /// Concurrency: a plain read, no locks; a dry run never holds back a real run (and so cannot
    /// see which of these a run on another host is claiming at this moment).
    static func dueJobs(_ t: TableSQL) -> String {
        """
        SELECT c.id::text AS id, c.job_type, coalesce(c.retry_count, 0) AS retry_count,
               coalesce(c.max_retries, 3) AS max_retries,
               (extract(epoch FROM now()) - extract(epoch FROM c.run_at))::float8 AS due_seconds, jsonb_typeof(c.payload) AS payload_type
        FROM unnest($1::text[], $2::int[]) AS t(job_type, quota)
        CROSS JOIN LATERAL (
            SELECT \(t.idAs("q")), \(t.jobTypeAs("q")), \(t.column("q", "retry_count")), \(t.column("q", "max_retries")), \(t.column("q", "run_at")), \(t.payloadAs("q")), \(t.createdOrderAs("q"))
            FROM \(t.table) q
            -- As the claim: a range of one type and its order, so only job_queue_claim_idx serves it.
            WHERE \(t.status("q")) = \(t.word(.pending)) AND \(t.jobType("q")) >= t.job_type AND \(t.jobType("q")) <= t.job_type AND \(t.column("q", "run_at")) <= now()
            ORDER BY \(t.jobType("q")), \(t.createdOrder("q"))
            LIMIT t.quota
        ) c
        ORDER BY c.created_at, c.id
        LIMIT $3
        """
    }

    /// The server's version string, e.g. "16.4 (Debian 16.4-1.pgdg120+2)". Concurrency: reads no table.
    static let serverVersion = "SELECT current_setting('server_version')"

    /// Whether a `cron` schema (pg_cron) exists in this database. Concurrency: a catalog read.
    static let cronSchemaExists = "SELECT to_regnamespace('cron') IS NOT NULL"

    /// pg_cron jobs named $1 (the Edge Function's schedule was `process-job-queue`) or whose
    /// command contains $2 (the Edge Function's URL path), whatever they were named. The command
    /// itself is not returned: it may carry the service-role key.
    /// Concurrency: a plain read of pg_cron's table; only asked when the cron schema exists.
    static let cronJobs = """
        SELECT jobid::text, schedule, active, coalesce(database, '') AS database, coalesce(jobname, '') AS jobname,
               strpos(command, $2) > 0 AS calls_edge_function
        FROM cron.job WHERE jobname = $1 OR strpos(command, $2) > 0 ORDER BY active DESC, jobid
        """

    /// Row level security on job_queue as it applies to the current role: whether it is on and
    /// forced, whether the role owns the table or bypasses RLS, whether a permissive policy for
    /// SELECT and for UPDATE applies to it (to it, PUBLIC — role 0 — or a role whose privileges
    /// it has), and the planner's and the statistics' row counts. No row when there is no table.
    ///
    /// Concurrency: catalog reads only.
    static let rowSecurity = """
        SELECT current_user::text, c.relrowsecurity, c.relforcerowsecurity,
               pg_has_role(current_user, c.relowner, 'USAGE'), r.rolsuper OR r.rolbypassrls,
               EXISTS (SELECT 1 FROM pg_policy p, unnest(p.polroles) AS pr(role)
                       WHERE p.polrelid = c.oid AND p.polpermissive AND p.polcmd IN ('*', 'r')
                         AND CASE WHEN pr.role = 0 THEN true ELSE pg_has_role(current_user, pr.role, 'USAGE') END),
               EXISTS (SELECT 1 FROM pg_policy p, unnest(p.polroles) AS pr(role)
                       WHERE p.polrelid = c.oid AND p.polpermissive AND p.polcmd IN ('*', 'w')
                         AND CASE WHEN pr.role = 0 THEN true ELSE pg_has_role(current_user, pr.role, 'USAGE') END),
               c.reltuples::float8, coalesce(pg_stat_get_live_tuples(c.oid), 0)::float8
        FROM pg_class c JOIN pg_roles r ON r.rolname = current_user
        WHERE c.oid = to_regclass('job_queue')
        """

    /// Whether the current role sees any row of job_queue (row level security applied).
    /// Concurrency: a plain read of at most one row, no locks.
    static let seesAnyJob = "SELECT EXISTS (SELECT 1 FROM job_queue)"

    /// The current role's privileges on job_queue, in the order SELECT, UPDATE, INSERT, DELETE.
    /// Concurrency: a catalog read.
    static let tablePrivileges = """
        SELECT has_table_privilege('job_queue', 'SELECT'), has_table_privilege('job_queue', 'UPDATE'),
               has_table_privilege('job_queue', 'INSERT'), has_table_privilege('job_queue', 'DELETE')
        """

    /// A write that changes nothing, sent inside a transaction that is rolled back: fails on a
    /// read-only connection (a standby, default_transaction_read_only) or without UPDATE.
    /// Concurrency: touches no row; its ROW EXCLUSIVE lock conflicts only with a migration's
    /// ACCESS EXCLUSIVE, and ends with the rollback.
    static let probeWrite = "UPDATE job_queue SET status = status WHERE false"
}

/// The operator's flow-control statements: cancel, pause, resume, and the routes' shared state
/// for `status`.
extension Queries {
    /// Named jobs cancelled. $1 ids (uuid[]). A pending job becomes failed, "cancelled by
    /// operator"; a processing one is marked (cancelled_at), so that its outcome, when it comes,
    /// cannot schedule a retry (the tick fails it instead); a finished one is left as it is. One
    /// row per id: its status before, its type, whether it changed, its status after.
    ///
    /// Concurrency: the UPDATE locks each row and, under READ COMMITTED, re-reads a row a claim
    /// changed meanwhile and decides on that version: a job claimed at that moment is marked
    /// rather than failed, and a tick recording its outcome waits for this lock and then sees the mark.
    static func cancelJobs(_ t: TableSQL) -> String {
        let wasPending = "\(t.status("j")) = \(t.word(.pending))", next = ",\n        "
        let error = t.error("").map { "\($0) = CASE WHEN \(wasPending) THEN 'cancelled by operator' ELSE \(t.error("j") ?? "NULL") END" + next } ?? ""
        let completed = t.profile.completedAt.map {
            "\(t.column("", $0.column)) = CASE WHEN \(wasPending) THEN \(t.now($0)) ELSE \(t.column("j", $0.column)) END" + next
        } ?? ""
        return """
            WITH target AS (
                SELECT DISTINCT unnest($1::\(t.idType)[]) AS id
            ),
            cancelled AS (
                UPDATE \(t.table) j SET
                    \(t.status("")) = CASE WHEN \(wasPending) THEN \(t.word(.failed)) ELSE \(t.status("j")) END,
                    \(error)\(completed)\(t.column("", "cancelled_at")) = coalesce(\(t.column("j", "cancelled_at")), now())\(t.touch)
                FROM target t
                WHERE \(t.id("j")) = t.id AND \(t.status("j")) IN (\(t.word(.pending)), \(t.word(.processing)))
                RETURNING \(t.idAs("j")), \(t.statusAs("j"))
            )
            SELECT t.id::text AS id, \(t.statusText("q")) AS status_before, \(t.jobType("q")), c.id IS NOT NULL AS changed, c.status AS status_after
            FROM target t
            LEFT JOIN \(t.table) q ON \(t.id("q")) = t.id
            LEFT JOIN cancelled c ON c.id = t.id
            ORDER BY t.id
            """
    }

    /// Pauses route $1 for $2 seconds (NULL: until resumed), reason $3, unless a longer pause
    /// is in force. Returns the pause in force afterwards: until (Unix seconds; Infinity: until
    /// resumed) and its reason.
    ///
    /// Concurrency: an upsert of one row of route_pause, which no claim locks; every claim that
    /// starts after the commit holds the route.
    static let pauseRoute = """
        WITH written AS (
            INSERT INTO process_jobs.route_pause AS p (job_type, paused_until, reason)
            VALUES ($1, CASE WHEN $2::float8 IS NULL THEN 'infinity'::timestamptz
                             ELSE now() + make_interval(secs => $2::float8) END, $3)
            ON CONFLICT (job_type) DO UPDATE SET paused_until = EXCLUDED.paused_until, reason = EXCLUDED.reason, updated_at = now()
            WHERE p.paused_until < EXCLUDED.paused_until
            RETURNING p.paused_until, p.reason
        ),
        current AS (
            SELECT paused_until, reason FROM written
            UNION ALL
            SELECT paused_until, reason FROM process_jobs.route_pause WHERE job_type = $1 AND NOT EXISTS (SELECT 1 FROM written)
        )
        SELECT extract(epoch FROM paused_until)::float8, reason FROM current
        """

    /// Ends the pause of route $1 now, whoever set it (an operator or a 429 answer). Returns the
    /// reason of the pause it ended; no row when the route was not paused.
    ///
    /// Concurrency: locks the one row it ends; a runner's 429 that lands after it pauses the
    /// route again, as it should.
    static let resumeRoute = """
        WITH ended AS (
            SELECT job_type, reason FROM process_jobs.route_pause
            WHERE job_type = $1 AND paused_until > now()
            FOR UPDATE
        )
        UPDATE process_jobs.route_pause p SET paused_until = now(), updated_at = now()
        FROM ended e
        WHERE p.job_type = e.job_type
        RETURNING e.reason
        """

    /// Per route (the types $1, and every route with shared state): the rate's theoretical
    /// arrival time (Unix seconds; NULL: never limited), live leases, and the pause in force
    /// (until, reason).
    ///
    /// Concurrency: plain reads, no locks: never waits for a claim holding a route row.
    static func routeStates(_ t: TableSQL) -> String {
        """
        SELECT t.job_type,
               extract(epoch FROM s.tat)::float8 AS tat,
               (SELECT count(*) FROM \(t.table) q
                WHERE \(t.status("q")) = \(t.word(.processing)) AND \(t.column("q", "locked_until")) > now() AND \(t.jobType("q")) = t.job_type) AS live,
               extract(epoch FROM p.paused_until)::float8 AS paused_until,
               p.reason
        FROM (SELECT unnest($1::text[]) AS job_type
              UNION SELECT job_type FROM process_jobs.route_state WHERE job_type <> '*'
              UNION SELECT job_type FROM process_jobs.route_pause) t
        LEFT JOIN process_jobs.route_state s ON s.job_type = t.job_type
        LEFT JOIN process_jobs.route_pause p ON p.job_type = t.job_type AND p.paused_until > now()
        ORDER BY t.job_type
        """
    }

    /// Per type, the $1 users with the most due jobs (NULL user_id as one group), most first.
    ///
    /// Concurrency: a plain read, no locks.
    static func topDueUsers(_ t: TableSQL) -> String {
        """
        SELECT job_type, user_id, jobs FROM (
            SELECT \(t.jobTypeAs("")), \(t.userAs("")), count(*) AS jobs,
                   row_number() OVER (PARTITION BY \(t.jobType("")) ORDER BY count(*) DESC, \(t.user(""))) AS rank
            FROM \(t.table)
            WHERE \(t.status("")) = \(t.word(.pending)) AND \(t.column("", "run_at")) <= now()
            GROUP BY \(t.jobType("")), \(t.user(""))
        ) ranked
        WHERE rank <= $1
        ORDER BY job_type, rank
        """
    }
}
