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
                          OR (locked_until IS NULL
                              AND coalesce(processed_at, created_at, '-infinity') < now() - make_interval(secs => $2))))
        """

    /// One round trip per tick: record finished attempts, rescue expired leases, claim due jobs.
    /// $1 outcomes (jsonb array), $2 locked_by, $3 batch limit, $4 job types, $5 per-type quotas,
    /// $6 lease seconds, $7 whether to rescue, $8 body bytes the claim may still load, $9 whether
    /// the first job may exceed $8 (nothing is held), $10 --max-payload, $11 largest body
    /// returned inline (larger ones are read with `bodyChunks`/`smallBody`), $12 the --on-failure
    /// type (NULL: none), $13 backoff base, $14 backoff cap (seconds) and $15 jitter for rescued
    /// leases, as RetryPolicy computes a failed attempt's delay.
    ///
    /// Concurrency: `recorded` changes only rows still processing under this run's lease (locked_by
    /// and the claim's processed_at match), so a run whose lease was rescued cannot overwrite the
    /// newer attempt; `expired` and `locked` lock their rows FOR UPDATE SKIP LOCKED, so runners
    /// on any number of hosts take disjoint sets; all times are the database's now().
    ///
    /// No value of a row can fail the statement (and with it everyone's outcomes): retry_count
    /// grows only while below max_retries (so never past 2147483647), NULL or negative counts read
    /// as 0, NULL timestamps as long ago, and a row's body size is measured, not loaded.
    /// retry_count counts retries granted, as the original functions did: +1 when a failed attempt
    /// sends the job back to pending; a job that ends failed keeps its count.
    ///
    /// A job that ends failed here (recorded or rescued) gets its failure job in `notified`, in
    /// this same statement: both commit or neither does, and the fences above make the failure
    /// itself happen once, so there is exactly one failure job per failure. A job of the
    /// --on-failure type gets none (no chains). `attempts` counts requests sent: retries granted
    /// + 1, less the last one when it was never sent ("sent": false); an expired lease counts as sent.
    static let tick = """
        WITH RECURSIVE outcome AS (
            SELECT * FROM jsonb_to_recordset($1::jsonb) AS o(
                id uuid, claimed_at timestamptz, action text, error text, result jsonb,
                delay double precision, previous_processed_at timestamptz, sent boolean)
        ),
        recorded AS (
            UPDATE job_queue j SET
                status = CASE o.action WHEN 'complete' THEN 'completed' WHEN 'fail' THEN 'failed' ELSE 'pending' END,
                retry_count = CASE WHEN o.action = 'retry'
                    THEN least(greatest(coalesce(j.retry_count, 0), 0)::bigint + 1, 2147483647)::integer
                    ELSE j.retry_count END,
                error_message = CASE WHEN o.action = 'complete' THEN NULL ELSE coalesce(o.error, j.error_message) END,
                result = CASE WHEN o.action = 'complete' THEN o.result ELSE j.result END,
                run_at = CASE WHEN o.delay IS NULL THEN j.run_at ELSE now() + make_interval(secs => o.delay) END,
                completed_at = CASE WHEN o.action IN ('complete', 'fail') THEN now() ELSE j.completed_at END,
                processed_at = CASE WHEN o.action = 'release' THEN o.previous_processed_at ELSE j.processed_at END,
                locked_until = NULL, locked_by = NULL, updated_at = now()
            FROM outcome o
            WHERE j.id = o.id AND j.status = 'processing' AND j.locked_by = $2 AND j.processed_at = o.claimed_at
            RETURNING j.id, j.job_type, j.status, j.retry_count, j.user_id,
                -- Only a failure needs these (payloads may be big).
                CASE WHEN j.status = 'failed' THEN j.payload END AS payload,
                CASE WHEN j.status = 'failed' THEN j.error_message END AS error_message,
                greatest(coalesce(j.retry_count, 0), 0)::bigint + CASE WHEN o.sent IS FALSE THEN 0 ELSE 1 END AS attempts
        ),
        expired AS MATERIALIZED (
            SELECT q.id, q.locked_by, greatest(coalesce(q.retry_count, 0), 0) AS retries,
                   greatest(coalesce(q.retry_count, 0), 0) < coalesce(q.max_retries, 3) AS retry
            FROM job_queue q
            WHERE $7::boolean AND q.status = 'processing'
              AND (q.locked_until < now()
                   OR (q.locked_until IS NULL
                       AND coalesce(q.processed_at, q.created_at, '-infinity') < now() - make_interval(secs => $6)))
              AND NOT EXISTS (SELECT 1 FROM outcome o WHERE o.id = q.id)
            FOR UPDATE SKIP LOCKED
        ),
        rescued AS (
            UPDATE job_queue j SET
                status = CASE WHEN e.retry THEN 'pending' ELSE 'failed' END,
                retry_count = CASE WHEN e.retry THEN e.retries + 1 ELSE j.retry_count END,
                error_message = 'lease expired: ' || coalesce(e.locked_by, 'a worker') || ' did not report an outcome within the lease'
                    || CASE WHEN e.retry THEN '' ELSE format('; no retries left (retry_count %s, max_retries %s)',
                                                             coalesce(j.retry_count, 0), coalesce(j.max_retries, 3)) END,
                completed_at = CASE WHEN e.retry THEN j.completed_at ELSE now() END,
                -- A retry waits its backoff, as after any failed attempt (a request that crashed
                -- its runner is not sent again back to back).
                run_at = CASE WHEN e.retry
                    THEN now() + make_interval(secs => least($14::float8,
                             least($14::float8, $13::float8 * power(2::float8, least(e.retries, 60)))
                             * (1 - $15::float8 + 2 * $15::float8 * random())))
                    ELSE now() END,
                locked_until = NULL, locked_by = NULL, updated_at = now()
            FROM expired e
            WHERE j.id = e.id
            RETURNING j.id, j.job_type, j.status, j.retry_count, e.locked_by, j.user_id,
                CASE WHEN j.status = 'failed' THEN j.payload END AS payload,
                CASE WHEN j.status = 'failed' THEN j.error_message END AS error_message,
                e.retries::bigint + 1 AS attempts
        ),
        failure AS (
            SELECT id, job_type, user_id, payload, error_message, attempts FROM recorded WHERE status = 'failed'
            UNION ALL
            SELECT id, job_type, user_id, payload, error_message, attempts FROM rescued WHERE status = 'failed'
        ),
        notified AS (
            INSERT INTO job_queue (job_type, payload, user_id)
            SELECT $12::text,
                   jsonb_build_object(
                       'failedJobId', f.id, 'jobType', f.job_type, 'userId', f.user_id,
                       'payload', CASE WHEN s.bytes <= 65536 THEN f.payload END,
                       'error', f.error_message, 'attempts', f.attempts, 'failedAt', now())
                   || CASE WHEN s.bytes > 65536 THEN jsonb_build_object('payloadBytes', s.bytes) ELSE '{}'::jsonb END,
                   f.user_id
            FROM failure f
            CROSS JOIN LATERAL (SELECT octet_length(f.payload::text)::bigint AS bytes OFFSET 0) s
            WHERE $12::text IS NOT NULL AND f.job_type IS DISTINCT FROM $12::text
            RETURNING id, job_type, payload->>'failedJobId' AS failed_job_id
        ),
        locked AS MATERIALIZED (
            SELECT array_agg(l.id ORDER BY l.created_at, l.id) AS ids,
                   array_agg(l.processed_at ORDER BY l.created_at, l.id) AS previous
            FROM (
                SELECT c.id, c.processed_at, c.created_at
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
            ) l
        ),
        -- The locked jobs in order, each body measured (not loaded) only while the running sum of
        -- the bodies to load stays within the budget: one measurement past it, not one per job.
        -- Bodies over --max-payload are never loaded and count for nothing.
        walk (n, id, processed_at, size, body, loaded) AS (
            SELECT 1, k.ids[1], k.previous[1], m.size, m.body, CASE WHEN m.size <= $10 THEN m.size ELSE 0 END
            FROM locked k CROSS JOIN LATERAL (\(measure("1"))) m
            WHERE cardinality(k.ids) > 0
            UNION ALL
            SELECT w.n + 1, k.ids[w.n + 1], k.previous[w.n + 1], m.size, m.body,
                   w.loaded + CASE WHEN m.size <= $10 THEN m.size ELSE 0 END
            FROM walk w CROSS JOIN locked k CROSS JOIN LATERAL (\(measure("w.n + 1"))) m
            WHERE w.n < cardinality(k.ids) AND w.loaded <= $8::bigint
        ),
        candidate AS MATERIALIZED (
            -- Within the budget; or the first job alone when nothing else is held.
            SELECT id, processed_at, size, body FROM walk WHERE loaded <= $8::bigint OR (n = 1 AND $9::boolean)
        ),
        claimed AS (
            UPDATE job_queue j SET
                status = 'processing', processed_at = now(), locked_by = $2,
                locked_until = now() + make_interval(secs => $6), updated_at = now()
            FROM candidate c
            WHERE j.id = c.id
            RETURNING j.id, j.job_type, j.retry_count, j.max_retries, j.processed_at,
                c.processed_at AS previous_processed_at, coalesce(jsonb_typeof(j.payload), 'missing') AS payload_type,
                c.size, c.body
        )
        SELECT 'recorded' AS kind, id, job_type, status, retry_count, NULL::integer AS max_retries,
               NULL::timestamptz AS claimed_at, NULL::timestamptz AS previous_processed_at,
               NULL::text AS payload_type, NULL::text AS body, NULL::text AS locked_by, NULL::bigint AS body_size,
               NULL::text AS failed_job_id
        FROM recorded
        UNION ALL
        SELECT 'rescued', id, job_type, status, retry_count, NULL, NULL, NULL, NULL, NULL, locked_by, NULL, NULL
        FROM rescued
        UNION ALL
        SELECT 'notified', id, job_type, 'pending', 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL, failed_job_id
        FROM notified
        UNION ALL
        SELECT 'claimed', id, job_type, 'processing', greatest(coalesce(retry_count, 0), 0), coalesce(max_retries, 3),
               processed_at, previous_processed_at, payload_type, body, NULL, size, NULL
        FROM claimed
        """

    /// The request body of the job at `index` in `k.ids`: its size in bytes (0 when the payload
    /// is not an object), and the body itself when it comes with the claim (up to $11 and within
    /// --max-payload). Made once; a bigger body is only measured. OFFSET 0 keeps it a subquery,
    /// so it is not made again for each use of its columns.
    private static func measure(_ index: String) -> String {
        """
        SELECT coalesce(octet_length(b.text), 0)::bigint AS size,
               CASE WHEN octet_length(b.text) <= least($10::bigint, $11::bigint) THEN b.text END AS body
        FROM (SELECT CASE WHEN jsonb_typeof(q.payload) = 'object' THEN
                         (CASE WHEN q.user_id IS NULL THEN q.payload
                               ELSE q.payload || jsonb_build_object('userId', q.user_id) END)::text END AS text
              FROM job_queue q WHERE q.id = k.ids[\(index)]
              OFFSET 0) b
        OFFSET 0
        """
    }

    /// A job's request body as one text value, for bodies too big to come inline with the claim
    /// but small enough for one answer. $1 id, $2 locked_by, $3 the claim's processed_at.
    /// Read-only, and fenced by the lease: no row when the lease was taken over.
    static let smallBody = """
        SELECT (CASE WHEN j.user_id IS NULL THEN j.payload
                     ELSE j.payload || jsonb_build_object('userId', j.user_id) END)::text
        FROM job_queue j
        WHERE j.id = $1 AND j.status = 'processing' AND j.locked_by = $2 AND j.processed_at = $3::timestamptz
        """

    /// A cursor over a big body in chunks of about $4 bytes of UTF-8 (one FETCH each, numbered;
    /// each ends on a character boundary, so it is text of its own), so the run never holds more
    /// than one chunk besides the body it builds: the body is made once by the server, not once
    /// per chunk, and one snapshot serves every chunk. $1 id, $2 locked_by, $3 the claim's
    /// processed_at. Declared inside a transaction (a cursor ends with it: no session state).
    /// Read-only and fenced by the lease like `smallBody`.
    static let bodyChunks = """
        DECLARE process_jobs_body NO SCROLL CURSOR FOR
        SELECT c.i, c.count, octet_length(b.bytes) AS total,
               convert_from(substring(b.bytes FROM c.start + 1 FOR c.stop - c.start), 'UTF8') AS chunk
        FROM job_queue j
        CROSS JOIN LATERAL (SELECT convert_to((CASE WHEN j.user_id IS NULL THEN j.payload
                                                    ELSE j.payload || jsonb_build_object('userId', j.user_id) END)::text,
                                              'UTF8') AS bytes
                            OFFSET 0) b  -- a subquery, so the body is made once
        CROSS JOIN LATERAL (SELECT (octet_length(b.bytes) + $4::int - 1) / $4::int AS count) n
        CROSS JOIN LATERAL (
            -- Chunk i covers [start, stop): nominal multiples of $4, each moved back to the first
            -- byte of a character (UTF-8 continuation bytes are 10xxxxxx).
            SELECT g.i, n.count, bounds.start, bounds.stop
            FROM generate_series(1, n.count) AS g(i)
            CROSS JOIN LATERAL (
                SELECT (SELECT max(p) FILTER (WHERE p = 0 OR get_byte(b.bytes, p) & 192 <> 128)
                        FROM generate_series(greatest((g.i - 1) * $4::int - 3, 0), (g.i - 1) * $4::int) AS p) AS start,
                       CASE WHEN g.i = n.count THEN octet_length(b.bytes) ELSE
                           (SELECT max(p) FILTER (WHERE get_byte(b.bytes, p) & 192 <> 128)
                            FROM generate_series(g.i * $4::int - 3, g.i * $4::int) AS p) END AS stop
            ) bounds
        ) c
        WHERE j.id = $1 AND j.status = 'processing' AND j.locked_by = $2 AND j.processed_at = $3::timestamptz
        """

    /// The next chunk of `bodyChunks`.
    static let nextBodyChunk = "FETCH 1 FROM process_jobs_body"
}
