/// Every statement process-jobs sends, in one place. Each takes its values as parameters and is
/// sent unnamed (PQexecParams), so it works behind a transaction-mode pooler.
enum Queries {
    /// Is anything due, or any lease expired? And the schema version `migrate` recorded (0: none),
    /// so a runner finds out in the same round trip whether it may use the schema at all; with
    /// no process_jobs.schema_version (a schema older than flow control) the statement fails with
    /// 42P01. The timer's common answer is no work, and this costs a fresh connection far less
    /// than planning the tick. $1 job types, $2 lease seconds. The third column is the seconds
    /// until the next job of the types becomes due or the next lease expires (NULL: none), so a
    /// listener sleeps until then without a round trip of its own; both minima read only the
    /// unfinished rows (the partial claim and lease indexes), not the whole table.
    /// Read-only: safe at any time; a job that becomes due just after is the next run's.
    static func probe(_ t: TableSQL) -> String {
        """
        SELECT EXISTS (
                   SELECT 1 FROM \(t.table)
                   WHERE \(t.status("")) = \(t.word(.pending)) AND \(t.jobType("")) = ANY($1::text[]) AND \(t.column("", "run_at")) <= now())
            OR EXISTS (
                   SELECT 1 FROM \(t.table)
                   WHERE \(t.status("")) = \(t.word(.processing))
                     AND (\(t.column("", "locked_until")) < now()
                          OR (\(t.column("", "locked_until")) IS NULL
                              AND coalesce(\(t.claimedAt("")), \(t.createdTime("")), '-infinity') < now() - make_interval(secs => $2)))),
               (SELECT coalesce(max(version), 0) FROM process_jobs.schema_version),
               extract(epoch FROM least(
                   (SELECT min(\(t.column("", "run_at"))) FROM \(t.table)
                    WHERE \(t.status("")) = \(t.word(.pending)) AND \(t.jobType("")) = ANY($1::text[]) AND \(t.column("", "run_at")) > now()),
                   (SELECT min(\(t.column("", "locked_until"))) FROM \(t.table)
                    WHERE \(t.status("")) = \(t.word(.processing)) AND \(t.column("", "locked_until")) >= now())) - now())
        """
    }

    /// One round trip per tick: record finished attempts, rescue expired leases, claim due jobs,
    /// made of only the parts `shape` needs (TickShape says why). Parameters, numbered as here
    /// for every shape and renumbered to those a shape uses (CompactStatement): $1 outcomes
    /// (jsonb array), $2 locked_by, $3 batch limit, $4 job types, $5 per-type quotas, $6 lease
    /// seconds, $8 body bytes the claim may still load, $9 whether the first job may exceed $8
    /// (nothing is held), $10 --max-payload, $11 largest body returned inline (larger ones are
    /// read with `bodyChunks`/`smallBody`), $12 the --on-failure type, $13 backoff base, $14
    /// backoff cap (seconds) and $15 jitter for rescued leases, as RetryPolicy computes a failed
    /// attempt's delay. Flow control, per type of $4: $16 seconds between starts (--route-rate;
    /// NULL none), $17 burst, $18 live leases allowed (--route-concurrency; NULL none); $20
    /// --user-concurrency; $21-$23 pauses to write (types, seconds, reasons). $7 (rescue) and $19
    /// (fair shares) are part of the shape instead. docs/flow-control.md has the design.
    ///
    /// Concurrency: `recorded` changes only rows still processing under this run's lease (locked_by
    /// and the claim's processed_at match), so a run whose lease was rescued cannot overwrite the
    /// newer attempt; `expired` and the picks lock their rows FOR UPDATE SKIP LOCKED, so runners
    /// on any number of hosts take disjoint sets; all times are the database's now(). Limits
    /// hold across runners: a claim of a limited route writes its route_state row, which it
    /// locks FOR UPDATE SKIP LOCKED (never waiting), and takes nothing of the route (`contended`)
    /// when another tick holds the row or when the row moved on since the statement's snapshot
    /// (claim_seq), for then the snapshot misses that claim's leases and slots. Pauses are
    /// upserted into route_pause, which no claim locks.
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
    static func tick(_ shape: TickShape, _ t: TableSQL) -> String {
        var parts: [String] = []
        if shape.outcomes { parts += [outcomeCTE(t), recordedCTE(t)] }
        if shape.rescue { parts += [expiredCTE(shape, t), rescuedCTE(t)] }
        if shape.failureJobs { parts += [failureCTE(shape, t), notifiedCTE] }
        if shape.pauses { parts.append(pauseWrittenCTE) }
        if shape.claim { parts += claimCTEs(shape, t) }
        return (parts.isEmpty ? "" : "WITH RECURSIVE " + parts.joined(separator: ",\n") + "\n") + tickRows(shape, t)
    }

    private static func outcomeCTE(_ t: TableSQL) -> String {
        """
        outcome AS (
            SELECT * FROM jsonb_to_recordset($1::jsonb) AS o(
                id \(t.idType), claimed_at timestamptz, action text, error text, result jsonb,
                delay double precision, previous_processed_at timestamptz, sent boolean)
        )
        """
    }

    private static func recordedCTE(_ t: TableSQL) -> String {
        let cancelled = t.column("j", "cancelled_at"), retries = t.column("j", "retry_count")
        // Optional columns: each SET line ends with the next line's indentation.
        let next = "\n        "
        let error = t.error("").map { name in """
            \(name) = CASE WHEN o.action = 'complete' THEN NULL
                                         WHEN o.action <> 'fail' AND \(cancelled) IS NOT NULL THEN 'cancelled by operator'
                                         ELSE coalesce(o.error, \(t.error("j") ?? "NULL")) END,
            """ + next } ?? ""
        let result = t.result("").map { "\($0) = CASE WHEN o.action = 'complete' THEN o.result ELSE \(t.result("j") ?? "NULL") END," + next } ?? ""
        let completed = t.completedSet("j", when: "o.action IN ('complete', 'fail') OR \(cancelled) IS NOT NULL",
                                       indent: "                            ") + (t.profile.completedAt == nil ? "" : "        ")
        return """
            recorded AS (
                UPDATE \(t.table) j SET
                    -- A job cancelled while it ran (`cancel` set cancelled_at) gets no retry: a retry
                    -- or release ends it failed, "cancelled by operator".
                    \(t.status("")) = CASE WHEN o.action = 'complete' THEN \(t.word(.completed))
                                  WHEN o.action = 'fail' OR \(cancelled) IS NOT NULL THEN \(t.word(.failed))
                                  ELSE \(t.word(.pending)) END,
                    \(t.column("", "retry_count")) = CASE WHEN o.action = 'retry' AND \(cancelled) IS NULL
                        THEN least(greatest(coalesce(\(retries), 0), 0)::bigint + 1, 2147483647)::integer
                        ELSE \(retries) END,
                    \(error)\(result)\(t.resultColumnSets("j", action: "o.action", result: "o.result", indent: "        "))\(t.column("", "run_at")) = CASE WHEN o.delay IS NULL OR \(cancelled) IS NOT NULL THEN \(t.column("j", "run_at"))
                                  ELSE now() + make_interval(secs => o.delay) END,
                    \(completed)\(t.claimedAt("")) = CASE WHEN o.action = 'release' AND \(cancelled) IS NULL THEN o.previous_processed_at
                                        ELSE \(t.claimedAt("j")) END,
                    \(t.column("", "locked_until")) = NULL, \(t.column("", "locked_by")) = NULL\(t.touch)
                FROM outcome o
                WHERE \(t.id("j")) = o.id AND \(t.status("j")) = \(t.word(.processing)) AND \(t.column("j", "locked_by")) = $2 AND \(t.claimedAt("j")) = o.claimed_at
                RETURNING \(t.idAs("j")), \(t.jobTypeAs("j")), \(t.statusAs("j")), \(retries), \(t.userAs("j")), \(cancelled) IS NOT NULL AS cancelled,
                    -- Only a failure needs these (payloads may be big).
                    CASE WHEN \(t.status("j")) = \(t.word(.failed)) THEN \(t.payload("j")) END AS payload,
                    CASE WHEN \(t.status("j")) = \(t.word(.failed)) THEN \(t.error("j") ?? "NULL::text") END AS error_message,
                    greatest(coalesce(\(retries), 0), 0)::bigint + CASE WHEN o.sent IS FALSE THEN 0 ELSE 1 END AS attempts
            )
            """
    }

    private static func expiredCTE(_ shape: TickShape, _ t: TableSQL) -> String {
        """
        expired AS MATERIALIZED (
            SELECT \(t.idAs("q")), \(t.column("q", "locked_by")), greatest(coalesce(\(t.column("q", "retry_count")), 0), 0) AS retries,
                   \(t.column("q", "cancelled_at")) IS NOT NULL AS cancelled,
                   greatest(coalesce(\(t.column("q", "retry_count")), 0), 0) < coalesce(\(t.column("q", "max_retries")), 3) AND \(t.column("q", "cancelled_at")) IS NULL AS retry
            FROM \(t.table) q
            WHERE \(t.status("q")) = \(t.word(.processing))
              AND (\(t.column("q", "locked_until")) < now()
                   OR (\(t.column("q", "locked_until")) IS NULL
                       AND coalesce(\(t.claimedAt("q")), \(t.createdTime("q")), '-infinity') < now() - make_interval(secs => $6)))
              \(shape.outcomes ? "AND NOT EXISTS (SELECT 1 FROM outcome o WHERE o.id = \(t.id("q")))" : "")
            FOR UPDATE SKIP LOCKED
        )
        """
    }

    private static func rescuedCTE(_ t: TableSQL) -> String {
        let retries = t.column("j", "retry_count"), maxRetries = t.column("j", "max_retries")
        let error = t.error("").map { name in """
            \(name) = CASE WHEN e.cancelled THEN 'cancelled by operator' ELSE
                        'lease expired: ' || coalesce(e.locked_by, 'a worker') || ' did not report an outcome within the lease'
                        || CASE WHEN e.retry THEN '' ELSE format('; no retries left (retry_count %s, max_retries %s)',
                                                                 coalesce(\(retries), 0), coalesce(\(maxRetries), 3)) END END,
                    
            """ } ?? ""
        let completed = t.profile.completedAt.map { stamp in
            "\(t.column("", stamp.column)) = CASE WHEN e.retry THEN \(t.column("j", stamp.column)) ELSE \(t.now(stamp)) END,\n        "
        } ?? ""
        return """
            rescued AS (
                UPDATE \(t.table) j SET
                    \(t.status("")) = CASE WHEN e.retry THEN \(t.word(.pending)) ELSE \(t.word(.failed)) END,
                    \(t.column("", "retry_count")) = CASE WHEN e.retry THEN e.retries + 1 ELSE \(retries) END,
                    \(error)\(completed)-- A retry waits its backoff, as after any failed attempt (a request that crashed
                    -- its runner is not sent again back to back).
                    \(t.column("", "run_at")) = CASE WHEN e.retry
                        THEN now() + make_interval(secs => least($14::float8,
                                 least($14::float8, $13::float8 * power(2::float8, least(e.retries, 60)))
                                 * (1 - $15::float8 + 2 * $15::float8 * random())))
                        ELSE now() END,
                    \(t.column("", "locked_until")) = NULL, \(t.column("", "locked_by")) = NULL\(t.touch)
                FROM expired e
                WHERE \(t.id("j")) = e.id
                RETURNING \(t.idAs("j")), \(t.jobTypeAs("j")), \(t.statusAs("j")), \(retries), e.locked_by, \(t.userAs("j")), e.cancelled,
                    CASE WHEN \(t.status("j")) = \(t.word(.failed)) THEN \(t.payload("j")) END AS payload,
                    CASE WHEN \(t.status("j")) = \(t.word(.failed)) THEN \(t.error("j") ?? "NULL::text") END AS error_message,
                    e.retries::bigint + 1 AS attempts
            )
            """
    }

    /// An operator's cancel is not a failure to report: no failure job for it.
    private static func failureCTE(_ shape: TickShape, _ t: TableSQL) -> String {
        var sources: [String] = []
        if shape.outcomes { sources.append("recorded") }
        if shape.rescue { sources.append("rescued") }
        return "failure AS (\n" + sources.map {
            "    SELECT id, job_type, user_id, payload, error_message, attempts FROM \($0) WHERE status = 'failed' AND NOT cancelled"
        }.joined(separator: "\n    UNION ALL\n") + "\n)"
    }

    private static let notifiedCTE = """
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
            WHERE f.job_type IS DISTINCT FROM $12::text
            RETURNING id, job_type, payload->>'failedJobId' AS failed_job_id
        )
        """

    /// Flow control. Pauses this tick writes (a 429/503 it saw), one per route, never shortening
    /// a longer one; in their own table, so writing one never waits for a claim that holds the
    /// route's row. Sorted, so two ticks lock the same rows in one order.
    private static let pauseWrittenCTE = """
        pause_written AS (
            INSERT INTO process_jobs.route_pause AS p (job_type, paused_until, reason)
            SELECT DISTINCT ON (n.job_type) n.job_type, now() + make_interval(secs => n.seconds), n.reason
            FROM unnest($21::text[], $22::float8[], $23::text[]) AS n(job_type, seconds, reason)
            WHERE n.seconds > 0
            ORDER BY n.job_type, n.seconds DESC
            ON CONFLICT (job_type) DO UPDATE SET paused_until = EXCLUDED.paused_until, reason = EXCLUDED.reason, updated_at = now()
            WHERE p.paused_until < EXCLUDED.paused_until
        )
        """

    /// The claim: the routes' gates, the picks (fair or oldest first), the body walk, the update,
    /// the route state moved on, and the holds to report.
    private static func claimCTEs(_ shape: TickShape, _ t: TableSQL) -> [String] {
        var parts = [routeCTE(shape, t), pausedCTE(shape, t)]
        if shape.coordinated { parts += [seenCTE(shape, t), ownedCTE(shape, t)] }
        if shape.concurrency || shape.userCap { parts.append(liveCTE(shape, t)) }
        if shape.userCap { parts.append(userRoomCTE(t)) }
        parts.append(gateCTE(shape, t))
        if shape.fair { parts += [fairRouteCTE(shape, t), fairUserCTE(t), fairPickCTE(shape, t)] }
        parts += [plainPickCTE(shape, t), pickCTE(shape, t), chosenCTE(shape, t), lockedCTE, walkCTE(t), candidateCTE,
                  claimedCTE(t), takenCTE(shape, t)]
        if shape.coordinated { parts += [routeAddedCTE(shape, t), advancedCTE(shape, t)] }
        parts.append(holdCTE(shape, t))
        return parts
    }

    /// The claimed types with this runner's limits: seconds between starts and burst (rate),
    /// live leases allowed (concurrency); NULL: no such limit.
    private static func routeCTE(_ shape: TickShape, _ t: TableSQL) -> String {
        guard shape.rate || shape.concurrency else {
            return """
                route AS MATERIALIZED (
                    SELECT t.job_type, greatest(t.quota, 0) AS quota, NULL::float8 AS rate_interval, 1 AS burst,
                           NULL::int AS concurrency, false AS limited
                    FROM unnest($4::text[], $5::int[]) AS t(job_type, quota)
                    WHERE t.job_type IS NOT NULL
                )
                """
        }
        return """
            route AS MATERIALIZED (
                SELECT t.job_type, greatest(t.quota, 0) AS quota, t.rate_interval, greatest(coalesce(t.burst, 1), 1) AS burst,
                       t.concurrency, (t.rate_interval IS NOT NULL OR t.concurrency IS NOT NULL) AS limited
                FROM unnest($4::text[], $5::int[], $16::float8[], $17::int[], $18::int[])
                    AS t(job_type, quota, rate_interval, burst, concurrency)
                WHERE t.job_type IS NOT NULL
            )
            """
    }

    /// Pauses in force: those committed (any runner, or `pause`) and those written just now.
    private static func pausedCTE(_ shape: TickShape, _ t: TableSQL) -> String {
        """
        paused AS MATERIALIZED (
            SELECT u.job_type, max(u.until) AS until
            FROM (SELECT p.job_type, p.paused_until AS until FROM process_jobs.route_pause p
                  WHERE p.job_type IN (SELECT job_type FROM route)
                  \(shape.pauses ? """
                  UNION ALL
                  SELECT n.job_type, now() + make_interval(secs => n.seconds)
                  FROM unnest($21::text[], $22::float8[]) AS n(job_type, seconds)
        """ : "")) u
            WHERE u.until > now()
            GROUP BY u.job_type
        )
        """
    }

    /// The route rows as this statement's snapshot has them (no lock). '*' sequences the claims
    /// under --user-concurrency, which spans types.
    private static func seenCTE(_ shape: TickShape, _ t: TableSQL) -> String {
        """
        seen AS MATERIALIZED (
            SELECT s.job_type, s.claim_seq, s.fair_cursor FROM process_jobs.route_state s
            WHERE s.job_type IN (SELECT job_type FROM route)\(shape.userCap ? " OR s.job_type = '*'" : "")
        )
        """
    }

    /// The route rows this claim may move on, locked without waiting: those of the limited
    /// routes (all routes under fair shares, for their cursor) not paused, and '*'.
    private static func ownedCTE(_ shape: TickShape, _ t: TableSQL) -> String {
        """
        owned AS MATERIALIZED (
            SELECT s.job_type, s.claim_seq, s.tat, s.fair_cursor FROM process_jobs.route_state s
            WHERE s.job_type IN (SELECT r.job_type FROM route r
                                 WHERE \(shape.fair ? "" : "r.limited AND ")r.quota > 0
                                   AND r.job_type NOT IN (SELECT job_type FROM paused))
               \(shape.userCap ? "OR (s.job_type = '*' AND EXISTS (SELECT 1 FROM route WHERE quota > 0))" : "")
            FOR UPDATE SKIP LOCKED
        )
        """
    }

    /// Live leases (expired ones do not count) of the types with a concurrency limit, or of
    /// every type under --user-concurrency; not those this statement has just ended.
    private static func liveCTE(_ shape: TickShape, _ t: TableSQL) -> String {
        """
        live AS MATERIALIZED (
            SELECT \(t.jobTypeAs("q")), \(t.userAs("q")) FROM \(t.table) q
            WHERE \(t.status("q")) = \(t.word(.processing)) AND \(t.column("q", "locked_until")) > now()
              \(shape.userCap ? "" : "AND \(t.jobType("q")) IN (SELECT job_type FROM route WHERE concurrency IS NOT NULL)")
              \(shape.outcomes ? "AND NOT EXISTS (SELECT 1 FROM recorded r WHERE r.id = \(t.id("q")))" : "")
        )
        """
    }

    /// --user-concurrency: how many more leases each user with live ones may take (NULL user_id
    /// is no user: never capped).
    private static func userRoomCTE(_ t: TableSQL) -> String {
        """
        user_room AS MATERIALIZED (
            SELECT l.user_id, greatest($20::int - count(*), 0) AS room FROM live l
            WHERE l.user_id IS NOT NULL
            GROUP BY l.user_id
        )
        """
    }

    /// Per route, what may be taken now: nothing while paused, or while contended (its row, or
    /// '*', is held by another tick or moved on since the snapshot); else the quota, cut to the
    /// rate's free slots (GCRA: floor((now + burst*T - max(tat, now)) / T)) and to the
    /// concurrency limit less the live leases.
    private static func gateCTE(_ shape: TickShape, _ t: TableSQL) -> String {
        // Fair shares need the route's cursor: a tick that could not lock the row (another tick
        // is claiming this route now, from that same cursor, and holds the users' next jobs)
        // claims oldest first, so it still finds work. So does a route's first claim anywhere,
        // which makes its row: all the runners that start together would scan from the same
        // beginning.
        let fair = shape.fair ? "o.job_type IS NOT NULL" : "false"
        var blocked = ["WHEN p.until IS NOT NULL THEN 'paused'"]
        if shape.rate || shape.concurrency {
            blocked.append("WHEN r.quota > 0 AND r.limited AND (o.job_type IS NULL OR o.claim_seq <> s.claim_seq) THEN 'contended'")
        }
        if shape.userCap {
            blocked.append("""
                WHEN r.quota > 0 AND NOT EXISTS (
                                    SELECT 1 FROM owned ow JOIN seen sw ON sw.job_type = ow.job_type AND sw.claim_seq = ow.claim_seq
                                    WHERE ow.job_type = '*') THEN 'contended'
                """)
        }
        let rateRoom = shape.rate ? """
            CASE WHEN r.rate_interval IS NULL THEN r.quota
                                ELSE greatest(0, least(r.burst, floor(
                                    (r.burst * r.rate_interval - greatest(extract(epoch FROM o.tat - now())::float8, 0))
                                    / r.rate_interval + 1e-9)))::int END
            """ : "r.quota"
        let concurrencyRoom = shape.concurrency ? """
            CASE WHEN r.concurrency IS NULL THEN r.quota
                                ELSE greatest(r.concurrency - (SELECT count(*) FROM live l WHERE l.job_type = r.job_type), 0)::int END
            """ : "r.quota"
        return """
            gate AS MATERIALIZED (
                SELECT g.*,
                       CASE WHEN g.blocked IS NOT NULL THEN 0 ELSE least(g.quota, g.rate_room, g.concurrency_room) END AS take
                FROM (
                    SELECT r.job_type, r.quota, r.rate_interval, r.burst,
                           \(shape.coordinated ? "o.fair_cursor" : "NULL::text AS fair_cursor"), \(fair) AS fair,
                           CASE \(blocked.joined(separator: "\n                        ")) END AS blocked,
                           (extract(epoch FROM p.until) - extract(epoch FROM now()))::float8 AS pause_left,  -- Infinity: until resumed
                           \(rateRoom) AS rate_room,
                           \(concurrencyRoom) AS concurrency_room
                    FROM route r
                    LEFT JOIN paused p ON p.job_type = r.job_type
                    \(shape.coordinated ? """
                    LEFT JOIN owned o ON o.job_type = r.job_type
                                        LEFT JOIN seen s ON s.job_type = r.job_type
                    """ : "")
                ) g
            )
            """
    }

    /// --fair-by user: a skip scan over job_queue_fair_idx for the users with pending jobs of
    /// each route, starting after the route's cursor (the last user served) and wrapping round
    /// once, at most `take` users (plus those at their cap): one index probe per user, however
    /// many jobs they have queued. Jobs without a user_id are one more user, '' (first in turn).
    private static func fairRouteCTE(_ shape: TickShape, _ t: TableSQL) -> String {
        """
        fair_route AS MATERIALIZED (
            SELECT g.job_type, g.take, g.fair_cursor,
                   g.take\(shape.userCap ? " + (SELECT count(*) FROM user_room WHERE room = 0)::int" : "") AS scan
            FROM gate g WHERE g.fair AND g.take > 0
        )
        """
    }

    /// Starts at the route's cursor (step 0, no user of its own); each step carries its route's
    /// take, scan and cursor (no join per step) and probes the index once, for the next user,
    /// and for the route's first user only when the scan wraps round. Written once, each probe
    /// is planned once.
    private static func fairUserCTE(_ t: TableSQL) -> String {
        """
        fair_user (job_type, n, user_id, wrapped, take, scan, cursor) AS (
            SELECT f.job_type, 0, f.fair_cursor, false, f.take, f.scan, f.fair_cursor
            FROM fair_route f
            UNION ALL
            SELECT u.job_type, u.n + 1, v.user_id, v.wrapped, u.take, u.scan, u.cursor
            FROM fair_user u
            CROSS JOIN LATERAL (
                SELECT (SELECT min(coalesce(\(t.user("q")), '')) FROM \(t.table) q
                        WHERE \(t.status("q")) = \(t.word(.pending)) AND \(t.jobType("q")) = u.job_type AND coalesce(\(t.user("q")), '') > u.user_id) AS after
                OFFSET 0
            ) a
            CROSS JOIN LATERAL (
                SELECT CASE WHEN a.after IS NOT NULL THEN a.after
                            WHEN NOT u.wrapped THEN (SELECT min(coalesce(\(t.user("q")), '')) FROM \(t.table) q
                                                     WHERE \(t.status("q")) = \(t.word(.pending)) AND \(t.jobType("q")) = u.job_type) END AS user_id,
                       u.wrapped OR a.after IS NULL AS wrapped
                OFFSET 0
            ) v
            WHERE u.n < u.scan AND v.user_id IS NOT NULL
              AND (NOT v.wrapped OR u.cursor IS NULL OR v.user_id <= u.cursor)
        )
        """
    }

    /// Each user's oldest due jobs, as many as round robin could give one user (the take less
    /// one job for each other user found; at most the user's room under the cap), locked FOR
    /// UPDATE SKIP LOCKED as any claim: at most about take^2 / 4 rows, only when fewer users than
    /// the take have pending jobs.
    private static func fairPickCTE(_ shape: TickShape, _ t: TableSQL) -> String {
        let share = "greatest(u.take - u.users + 1, 1)::int"
        return """
            fair_pick AS MATERIALIZED (
                SELECT c.id, c.processed_at, c.created_at, c.job_type, c.user_id
                FROM (SELECT f.*, count(*) OVER (PARTITION BY f.job_type) AS users FROM fair_user f WHERE f.n > 0) u
                CROSS JOIN LATERAL (
                    SELECT \(t.idAs("q")), \(t.claimedAtAs("q")), \(t.createdOrderAs("q")), \(t.jobTypeAs("q")), \(t.userAs("q")) FROM \(t.table) q
                    WHERE \(t.status("q")) = \(t.word(.pending)) AND \(t.jobType("q")) = u.job_type AND coalesce(\(t.user("q")), '') = u.user_id
                      AND \(t.column("q", "run_at")) <= now()
                    ORDER BY \(t.createdOrder("q"))
                    LIMIT \(shape.userCap ? "least(\(share), coalesce((SELECT ur.room FROM user_room ur WHERE ur.user_id = u.user_id), u.take))" : share)
                    FOR UPDATE SKIP LOCKED
                ) c
            )
            """
    }

    /// --fair-by none (and a fair route without its row): oldest first, as many as the take
    /// (users at their cap left out). The type is a range of one value and the order is
    /// (job_type, created_at): a type that comes as a parameter gives the planner no
    /// selectivity, and with `job_type = $x` it may walk any index on (status, created_at) an
    /// app has, filtering every pending row of the other types; only job_queue_claim_idx serves
    /// this order.
    private static func plainPickCTE(_ shape: TickShape, _ t: TableSQL) -> String {
        """
        plain_pick AS MATERIALIZED (
            SELECT c.id, c.processed_at, c.created_at, c.job_type, c.user_id
            FROM gate g
            CROSS JOIN LATERAL (
                SELECT \(t.idAs("q")), \(t.claimedAtAs("q")), \(t.createdOrderAs("q")), \(t.jobTypeAs("q")), \(t.userAs("q")) FROM \(t.table) q
                WHERE \(t.status("q")) = \(t.word(.pending)) AND \(t.jobType("q")) >= g.job_type AND \(t.jobType("q")) <= g.job_type AND \(t.column("q", "run_at")) <= now()
                  \(shape.userCap ? "AND NOT EXISTS (SELECT 1 FROM user_room ur WHERE ur.user_id = \(t.user("q")) AND ur.room = 0)" : "")
                ORDER BY \(t.jobType("q")), \(t.createdOrder("q"))
                LIMIT g.take
                FOR UPDATE SKIP LOCKED
            ) c
            WHERE \(shape.fair ? "NOT g.fair AND " : "")g.take > 0
        )
        """
    }

    /// Round robin: a group's first job is in round 1, its second in round 2...; within a round,
    /// groups in the order of their oldest due job. Oldest first (one round) without fairness.
    private static func pickCTE(_ shape: TickShape, _ t: TableSQL) -> String {
        let fairRows = shape.fair ? """
                        SELECT f.*, row_number() OVER (PARTITION BY f.job_type, f.user_id ORDER BY f.created_at) AS round,
                               min(f.created_at) OVER (PARTITION BY f.job_type, f.user_id) AS head
                        FROM fair_pick f
                        UNION ALL

            """ : ""
        return """
            pick AS MATERIALIZED (
                SELECT p.*,
                       row_number() OVER (PARTITION BY p.job_type ORDER BY p.round, p.head, p.created_at, p.id) AS nth_of_type\(shape.userCap ? """
            ,
                               row_number() OVER (PARTITION BY p.user_id ORDER BY p.round, p.head, p.created_at, p.id) AS nth_of_user
            """ : "")
                FROM (
            \(fairRows)            SELECT n.*, 1 AS round, n.created_at AS head FROM plain_pick n
                ) p
            )
            """
    }

    /// Within each route's take (shares are rounded up), and within each user's room across
    /// routes (--user-concurrency spans types).
    private static func chosenCTE(_ shape: TickShape, _ t: TableSQL) -> String {
        """
        chosen AS MATERIALIZED (
            SELECT p.* FROM pick p JOIN gate g ON g.job_type = p.job_type
            WHERE p.nth_of_type <= g.take
              \(shape.userCap ? """
              AND (p.user_id IS NULL
                               OR p.nth_of_user <= coalesce((SELECT ur.room FROM user_room ur WHERE ur.user_id = p.user_id), $20::int))
            """ : "")
        )
        """
    }

    private static let lockedCTE = """
        locked AS MATERIALIZED (
            SELECT array_agg(l.id ORDER BY l.round, l.head, l.created_at, l.id) AS ids,
                   array_agg(l.processed_at ORDER BY l.round, l.head, l.created_at, l.id) AS previous
            FROM (SELECT c.* FROM chosen c ORDER BY c.round, c.head, c.created_at, c.id LIMIT $3) l
        )
        """

    /// The locked jobs in order, each body measured (not loaded) only while the running sum of
    /// the bodies to load stays within the budget: one measurement past it, not one per job.
    /// Bodies over --max-payload are never loaded and count for nothing. Step 0 is the start (no
    /// job), so the measurement is written, and planned, once.
    private static func walkCTE(_ t: TableSQL) -> String {
        """
        walk (n, id, processed_at, size, body, loaded) AS (
            SELECT 0, NULL::\(t.idType), NULL::timestamptz, 0::bigint, NULL::text, 0::bigint
            UNION ALL
            SELECT w.n + 1, k.ids[w.n + 1], k.previous[w.n + 1], m.size, m.body,
                   w.loaded + CASE WHEN m.size <= $10 THEN m.size ELSE 0 END
            FROM walk w CROSS JOIN locked k CROSS JOIN LATERAL (\(measure("w.n + 1", t))) m
            WHERE w.n < cardinality(k.ids) AND w.loaded <= $8::bigint
        )
        """
    }

    /// Within the budget; or the first job alone when nothing else is held.
    private static let candidateCTE = """
        candidate AS MATERIALIZED (
            SELECT n, id, processed_at, size, body FROM walk WHERE n > 0 AND (loaded <= $8::bigint OR (n = 1 AND $9::boolean))
        )
        """

    private static func claimedCTE(_ t: TableSQL) -> String {
        """
        claimed AS (
            UPDATE \(t.table) j SET
                \(t.status("")) = \(t.word(.processing)), \(t.claimedAt("")) = now()\(t.claimStarted), \(t.column("", "locked_by")) = $2,
                \(t.column("", "locked_until")) = now() + make_interval(secs => $6)\(t.touch)
            FROM candidate c
            WHERE \(t.id("j")) = c.id
            RETURNING \(t.idAs("j")), \(t.jobTypeAs("j")), \(t.userAs("j")), \(t.column("j", "retry_count")), \(t.column("j", "max_retries")), \(t.claimedAtAs("j")),
                c.processed_at AS previous_processed_at, coalesce(jsonb_typeof(\(t.payload("j"))), 'missing') AS payload_type,
                c.size, c.body, c.n
        )
        """
    }

    /// Jobs taken per route, and the last user served in the skip scan's order (the cursor).
    private static func takenCTE(_ shape: TickShape, _ t: TableSQL) -> String {
        let lastUser = shape.fair ? """
            (SELECT u.user_id FROM fair_user u
                            WHERE u.job_type = c.job_type AND u.n > 0
                              AND u.user_id IN (SELECT coalesce(c2.user_id, '') FROM claimed c2 WHERE c2.job_type = c.job_type)
                            ORDER BY u.n DESC LIMIT 1)
            """ : "NULL::text"
        return """
            taken AS MATERIALIZED (
                SELECT c.job_type, count(*) AS jobs, \(lastUser) AS last_user
                FROM claimed c GROUP BY c.job_type
            )
            """
    }

    /// A route's first claim anywhere makes its row, with the fair cursor of this claim (a
    /// limited route takes nothing until its row exists); sorted, so two first claims wait for
    /// each other in one order. A row made meanwhile is left alone.
    private static func routeAddedCTE(_ shape: TickShape, _ t: TableSQL) -> String {
        """
        route_added AS (
            INSERT INTO process_jobs.route_state (job_type, fair_cursor)
            SELECT a.job_type, t.last_user FROM (
                SELECT r.job_type FROM route r\(shape.fair ? "" : " WHERE r.limited")
                \(shape.userCap ? "UNION SELECT '*'" : "")
            ) a
            LEFT JOIN taken t ON t.job_type = a.job_type
            WHERE NOT EXISTS (SELECT 1 FROM seen s WHERE s.job_type = a.job_type)
            ORDER BY a.job_type
            ON CONFLICT (job_type) DO NOTHING
        )
        """
    }

    /// The route rows this claim holds, for the routes it took jobs of: the rate's arrival time
    /// moves on by one interval per job, the sequence by one (a claim whose snapshot predates
    /// this commit finds it moved, and takes nothing), the cursor to the last user served. '*'
    /// moves on with any job taken under --user-concurrency. Each row is written once.
    private static func advancedCTE(_ shape: TickShape, _ t: TableSQL) -> String {
        """
        advanced AS (
            UPDATE process_jobs.route_state s SET
                tat = CASE WHEN g.rate_interval IS NULL OR t.job_type IS NULL THEN s.tat
                           ELSE greatest(coalesce(s.tat, now()), now()) + make_interval(secs => g.rate_interval * t.jobs) END,
                claim_seq = s.claim_seq + 1,
                fair_cursor = coalesce(t.last_user, s.fair_cursor),
                updated_at = now()
            FROM owned o
            LEFT JOIN taken t ON t.job_type = o.job_type
            LEFT JOIN gate g ON g.job_type = o.job_type
            WHERE s.job_type = o.job_type
              AND (t.job_type IS NOT NULL\(shape.userCap ? " OR (o.job_type = '*' AND EXISTS (SELECT 1 FROM taken))" : ""))
            RETURNING s.job_type, s.tat
        )
        """
    }

    /// Routes whose due jobs a gate kept back (untouched): why, how many of those the claim
    /// wanted (due ones, at most its quota), and when the gate opens (seconds; NULL: when a
    /// lease ends). Due jobs are counted only for a route a gate held.
    private static func holdCTE(_ shape: TickShape, _ t: TableSQL) -> String {
        let userCapHeld = shape.userCap ? """
             OR EXISTS (
                                   SELECT 1 FROM user_room ur
                                   WHERE ur.room = 0 AND EXISTS (
                                       SELECT 1 FROM \(t.table) q
                                       WHERE \(t.status("q")) = \(t.word(.pending)) AND \(t.jobType("q")) = g.job_type
                                         AND coalesce(\(t.user("q")), '') = ur.user_id AND \(t.column("q", "run_at")) <= now()))
            """ : ""
        return """
            hold AS (
                SELECT h.job_type, h.reason, (least(h.due, h.wanted) - h.jobs)::int AS held,
                       CASE h.reason
                           WHEN 'paused' THEN h.pause_left
                           WHEN 'contended' THEN 0
                           WHEN 'rate' THEN greatest(extract(epoch FROM h.tat - now())::float8 - (h.burst - 1) * h.rate_interval, 0)
                       END AS next_in
                FROM (
                    SELECT g.job_type, g.pause_left, g.rate_interval, g.burst,
                           \(shape.coordinated ? "coalesce(a.tat, o.tat)" : "NULL::timestamptz") AS tat, coalesce(t.jobs, 0) AS jobs, d.due,
                           CASE WHEN g.blocked IS NOT NULL THEN g.blocked
                                WHEN g.take < g.quota AND g.concurrency_room <= g.rate_room THEN 'concurrency'
                                WHEN g.take < g.quota THEN 'rate'
                                ELSE 'user_cap' END AS reason,
                           CASE WHEN g.blocked IS NOT NULL OR g.take < g.quota THEN g.quota ELSE g.take END AS wanted
                    FROM gate g
                    \(shape.coordinated ? """
                    LEFT JOIN owned o ON o.job_type = g.job_type
                                        LEFT JOIN advanced a ON a.job_type = g.job_type
                    """ : "")
                    LEFT JOIN taken t ON t.job_type = g.job_type
                    CROSS JOIN LATERAL (
                        SELECT count(*) AS due FROM (
                            -- As in plain_pick: served by job_queue_claim_idx only.
                            SELECT 1 FROM \(t.table) q
                            WHERE \(t.status("q")) = \(t.word(.pending)) AND \(t.jobType("q")) >= g.job_type AND \(t.jobType("q")) <= g.job_type
                              AND \(t.column("q", "run_at")) <= now()
                            ORDER BY \(t.jobType("q")), \(t.createdOrder("q"))
                            LIMIT g.quota) d
                    ) d
                    WHERE g.quota > 0 AND (g.blocked IS NOT NULL OR g.take < g.quota\(userCapHeld))
                ) h
                WHERE least(h.due, h.wanted) > h.jobs
            )
            """
    }

    /// The tick's rows: one typed row shape for every kind, whichever parts the shape has.
    private static func tickRows(_ shape: TickShape, _ t: TableSQL) -> String {
        var rows = ["""
            SELECT NULL::text AS kind, NULL::\(t.rowIDType) AS id, NULL::text AS job_type, NULL::text AS status,
                   NULL::integer AS retry_count, NULL::integer AS max_retries,
                   NULL::timestamptz AS claimed_at, NULL::timestamptz AS previous_processed_at,
                   NULL::text AS payload_type, NULL::text AS body, NULL::text AS locked_by, NULL::bigint AS body_size,
                   NULL::text AS failed_job_id, NULL::float8 AS next_in
            WHERE false
            """]
        if shape.outcomes {
            rows.append("SELECT 'recorded', \(t.rowID), job_type, status, retry_count, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL FROM recorded")
        }
        if shape.rescue {
            rows.append("SELECT 'rescued', \(t.rowID), job_type, status, retry_count, NULL, NULL, NULL, NULL, NULL, locked_by, NULL, NULL, NULL FROM rescued")
        }
        if shape.failureJobs {
            rows.append("SELECT 'notified', \(t.rowID), job_type, 'pending', 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL, failed_job_id, NULL FROM notified")
        }
        if shape.claim {
            rows.append("""
                SELECT * FROM (
                    -- In the claim's order (round robin), which is the order to send them in.
                    SELECT 'claimed', \(t.rowID), job_type, 'processing', greatest(coalesce(retry_count, 0), 0), coalesce(max_retries, 3),
                           processed_at, previous_processed_at, payload_type, body, NULL, size, NULL, NULL::float8
                    FROM claimed ORDER BY n) c
                """)
            rows.append("SELECT 'held', NULL, job_type, reason, held, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, next_in FROM hold")
        }
        return rows.joined(separator: "\nUNION ALL\n")
    }

    /// The request body of the job at `index` in `k.ids`: its size in bytes (0 when the payload
    /// is not an object), and the body itself when it comes with the claim (up to $11 and within
    /// --max-payload). Made once; a bigger body is only measured. OFFSET 0 keeps it a subquery,
    /// so it is not made again for each use of its columns.
    private static func measure(_ index: String, _ t: TableSQL) -> String {
        """
        SELECT coalesce(octet_length(b.text), 0)::bigint AS size,
               CASE WHEN octet_length(b.text) <= least($10::bigint, $11::bigint) THEN b.text END AS body
        FROM (SELECT CASE WHEN jsonb_typeof(\(t.payload("q"))) = 'object' THEN
                         (CASE WHEN \(t.user("q")) IS NULL THEN \(t.payload("q"))
                               ELSE \(t.payload("q")) || jsonb_build_object('userId', \(t.user("q"))) END)::text END AS text
              FROM \(t.table) q WHERE \(t.id("q")) = k.ids[\(index)]
              OFFSET 0) b
        OFFSET 0
        """
    }

    /// A job's request body as one text value, for bodies too big to come inline with the claim
    /// but small enough for one answer. $1 id, $2 locked_by, $3 the claim's processed_at.
    /// Read-only, and fenced by the lease: no row when the lease was taken over.
    static func smallBody(_ t: TableSQL) -> String {
        """
        SELECT (CASE WHEN \(t.user("j")) IS NULL THEN \(t.payload("j"))
                     ELSE \(t.payload("j")) || jsonb_build_object('userId', \(t.user("j"))) END)::text
        FROM \(t.table) j
        WHERE \(t.id("j")) = $1 AND \(t.status("j")) = \(t.word(.processing)) AND \(t.column("j", "locked_by")) = $2 AND \(t.claimedAt("j")) = $3::timestamptz
        """
    }

    /// A cursor over a big body in chunks of about $4 bytes of UTF-8 (one FETCH each, numbered;
    /// each ends on a character boundary, so it is text of its own), so the run never holds more
    /// than one chunk besides the body it builds: the body is made once by the server, not once
    /// per chunk, and one snapshot serves every chunk. $1 id, $2 locked_by, $3 the claim's
    /// processed_at. Declared inside a transaction (a cursor ends with it: no session state).
    /// Read-only and fenced by the lease like `smallBody`.
    static func bodyChunks(_ t: TableSQL) -> String {
        """
        DECLARE process_jobs_body NO SCROLL CURSOR FOR
        SELECT c.i, c.count, octet_length(b.bytes) AS total,
               convert_from(substring(b.bytes FROM c.start + 1 FOR c.stop - c.start), 'UTF8') AS chunk
        FROM \(t.table) j
        CROSS JOIN LATERAL (SELECT convert_to((CASE WHEN \(t.user("j")) IS NULL THEN \(t.payload("j"))
                                                    ELSE \(t.payload("j")) || jsonb_build_object('userId', \(t.user("j"))) END)::text,
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
        WHERE \(t.id("j")) = $1 AND \(t.status("j")) = \(t.word(.processing)) AND \(t.column("j", "locked_by")) = $2 AND \(t.claimedAt("j")) = $3::timestamptz
        """
    }

    /// The next chunk of `bodyChunks`.
    static let nextBodyChunk = "FETCH 1 FROM process_jobs_body"
}
