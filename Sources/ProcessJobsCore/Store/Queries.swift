/// Every statement process-jobs sends, in one place. Each takes its values as parameters and is
/// sent unnamed (PQexecParams), so it works behind a transaction-mode pooler.
enum Queries {
    /// Is anything due, or any lease expired? The timer's common answer is no, and this costs a
    /// fresh connection far less than planning the tick. $1 job types, $2 lease seconds.
    /// Read-only: safe at any time; a job that becomes due just after is the next run's.
    static let probe = """
        SELECT EXISTS (
                   SELECT 1 FROM job_queue
                   WHERE status = 'pending' AND job_type = ANY($1::text[]) AND run_at <= now())
            OR EXISTS (
                   SELECT 1 FROM job_queue
                   WHERE status = 'processing'
                     AND (locked_until < now()
                          OR (locked_until IS NULL AND coalesce(processed_at, created_at) < now() - make_interval(secs => $2))))
        """

    /// One round trip per tick: record finished attempts, rescue expired leases, claim due jobs.
    /// $1 outcomes (jsonb array), $2 locked_by, $3 batch limit, $4 job types, $5 per-type quotas,
    /// $6 lease seconds, $7 whether to rescue.
    ///
    /// Concurrency: `recorded` changes only rows still processing under this run's lease (locked_by
    /// and the claim's processed_at match), so a run whose lease was rescued cannot overwrite the
    /// newer attempt; `expired` and `candidate` lock their rows FOR UPDATE SKIP LOCKED, so runners
    /// on any number of hosts take disjoint sets; all times are the database's now().
    static let tick = """
        WITH outcome AS (
            SELECT * FROM jsonb_to_recordset($1::jsonb) AS o(
                id uuid, claimed_at timestamptz, action text, error text, result jsonb,
                delay double precision, previous_processed_at timestamptz)
        ),
        recorded AS (
            UPDATE job_queue j SET
                status = CASE o.action WHEN 'complete' THEN 'completed' WHEN 'fail' THEN 'failed' ELSE 'pending' END,
                retry_count = coalesce(j.retry_count, 0) + CASE WHEN o.action IN ('retry', 'fail') THEN 1 ELSE 0 END,
                error_message = CASE WHEN o.action = 'complete' THEN NULL ELSE coalesce(o.error, j.error_message) END,
                result = CASE WHEN o.action = 'complete' THEN o.result ELSE j.result END,
                run_at = CASE WHEN o.delay IS NULL THEN j.run_at ELSE now() + make_interval(secs => o.delay) END,
                completed_at = CASE WHEN o.action IN ('complete', 'fail') THEN now() ELSE j.completed_at END,
                processed_at = CASE WHEN o.action = 'release' THEN o.previous_processed_at ELSE j.processed_at END,
                locked_until = NULL, locked_by = NULL, updated_at = now()
            FROM outcome o
            WHERE j.id = o.id AND j.status = 'processing' AND j.locked_by = $2 AND j.processed_at = o.claimed_at
            RETURNING j.id, j.job_type, j.status, j.retry_count
        ),
        expired AS MATERIALIZED (
            SELECT q.id, q.locked_by FROM job_queue q
            WHERE $7::boolean AND q.status = 'processing'
              AND (q.locked_until < now()
                   OR (q.locked_until IS NULL AND coalesce(q.processed_at, q.created_at) < now() - make_interval(secs => $6)))
              AND NOT EXISTS (SELECT 1 FROM outcome o WHERE o.id = q.id)
            FOR UPDATE SKIP LOCKED
        ),
        rescued AS (
            UPDATE job_queue j SET
                status = CASE WHEN coalesce(j.retry_count, 0) < coalesce(j.max_retries, 3) THEN 'pending' ELSE 'failed' END,
                retry_count = coalesce(j.retry_count, 0) + 1,
                error_message = 'lease expired: ' || coalesce(e.locked_by, 'a worker') || ' did not report an outcome within the lease',
                completed_at = CASE WHEN coalesce(j.retry_count, 0) < coalesce(j.max_retries, 3) THEN j.completed_at ELSE now() END,
                run_at = now(), locked_until = NULL, locked_by = NULL, updated_at = now()
            FROM expired e
            WHERE j.id = e.id
            RETURNING j.id, j.job_type, j.status, j.retry_count, e.locked_by
        ),
        candidate AS MATERIALIZED (
            SELECT c.id, c.processed_at
            FROM unnest($4::text[], $5::int[]) AS t(job_type, quota)
            CROSS JOIN LATERAL (
                SELECT q.id, q.processed_at, q.created_at FROM job_queue q
                WHERE q.status = 'pending' AND q.job_type = t.job_type AND q.run_at <= now()
                ORDER BY q.created_at
                LIMIT t.quota
                FOR UPDATE SKIP LOCKED
            ) c
            ORDER BY c.created_at
            LIMIT $3
        ),
        claimed AS (
            UPDATE job_queue j SET
                status = 'processing', processed_at = now(), locked_by = $2,
                locked_until = now() + make_interval(secs => $6), updated_at = now()
            FROM candidate c
            WHERE j.id = c.id
            RETURNING j.id, j.job_type, j.retry_count, j.max_retries, j.processed_at,
                c.processed_at AS previous_processed_at, jsonb_typeof(j.payload) AS payload_type,
                CASE WHEN jsonb_typeof(j.payload) = 'object' THEN
                    (CASE WHEN j.user_id IS NULL THEN j.payload
                          ELSE j.payload || jsonb_build_object('userId', j.user_id) END)::text
                END AS body
        )
        SELECT 'recorded' AS kind, id, job_type, status, retry_count, NULL::integer AS max_retries,
               NULL::timestamptz AS claimed_at, NULL::timestamptz AS previous_processed_at,
               NULL::text AS payload_type, NULL::text AS body, NULL::text AS locked_by
        FROM recorded
        UNION ALL
        SELECT 'rescued', id, job_type, status, retry_count, NULL, NULL, NULL, NULL, NULL, locked_by
        FROM rescued
        UNION ALL
        SELECT 'claimed', id, job_type, 'processing', coalesce(retry_count, 0), coalesce(max_retries, 3),
               processed_at, previous_processed_at, payload_type, body, NULL
        FROM claimed
        """
}
