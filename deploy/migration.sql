-- process-jobs schema migration 1: upgrades the original job_queue table in place.
-- Additive and idempotent: it only adds what is missing, so it is safe to run again, on a live
-- table, while the old Edge Function still runs. Rows in every state are kept as they are.
-- Paste it whole into the Supabase SQL editor, or run `process-jobs migrate`.
BEGIN;

-- One migrator at a time; a second one waits here, then finds nothing left to do.
SELECT pg_advisory_xact_lock(hashtext('process-jobs migrate'));
-- ALTER TABLE needs a brief exclusive lock: give up rather than queue the app behind a long query.
SET LOCAL lock_timeout = '15s';

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

-- Earliest time a pending job may run (backoff). now() is stable, so existing rows get the
-- migration's time without a table rewrite.
ALTER TABLE job_queue ADD COLUMN IF NOT EXISTS run_at timestamptz NOT NULL DEFAULT now();
-- The lease of a processing job: until when, and who holds it (host:pid).
ALTER TABLE job_queue ADD COLUMN IF NOT EXISTS locked_until timestamptz;
ALTER TABLE job_queue ADD COLUMN IF NOT EXISTS locked_by text;
-- The endpoint's JSON answer on success.
ALTER TABLE job_queue ADD COLUMN IF NOT EXISTS result jsonb;
ALTER TABLE job_queue ADD COLUMN IF NOT EXISTS updated_at timestamptz;

-- Serves the claim: pending jobs of one type, oldest first. Partial, so completed and failed
-- rows (the bulk of an old table) cost it nothing.
CREATE INDEX IF NOT EXISTS job_queue_claim_idx ON job_queue (job_type, created_at) WHERE status = 'pending';
-- Serves lease rescue: the few processing rows.
CREATE INDEX IF NOT EXISTS job_queue_lease_idx ON job_queue (locked_until) WHERE status = 'processing';

-- The Edge Function's four functions, for a new install; existing ones are left untouched.
DO $migration$
BEGIN
    IF to_regprocedure('get_next_job()') IS NULL THEN
        CREATE FUNCTION get_next_job() RETURNS SETOF job_queue LANGUAGE sql AS $fn$
            SELECT * FROM job_queue WHERE status = 'pending'
            ORDER BY created_at LIMIT 1 FOR UPDATE SKIP LOCKED
        $fn$;
    END IF;
    IF to_regprocedure('mark_job_processing(uuid)') IS NULL THEN
        CREATE FUNCTION mark_job_processing(job_id uuid) RETURNS void LANGUAGE sql AS $fn$
            UPDATE job_queue SET status = 'processing', processed_at = now() WHERE id = job_id
        $fn$;
    END IF;
    IF to_regprocedure('mark_job_completed(uuid)') IS NULL THEN
        CREATE FUNCTION mark_job_completed(job_id uuid) RETURNS void LANGUAGE sql AS $fn$
            UPDATE job_queue SET status = 'completed', completed_at = now() WHERE id = job_id
        $fn$;
    END IF;
    IF to_regprocedure('mark_job_failed(uuid,text)') IS NULL THEN
        CREATE FUNCTION mark_job_failed(job_id uuid, error_msg text) RETURNS void LANGUAGE sql AS $fn$
            UPDATE job_queue SET
                retry_count = coalesce(retry_count, 0) + 1,
                error_message = error_msg,
                status = CASE WHEN coalesce(retry_count, 0) < coalesce(max_retries, 3) THEN 'pending' ELSE 'failed' END
            WHERE id = job_id
        $fn$;
    END IF;
END
$migration$;

COMMIT;
