-- process-jobs schema migration 4: upgrades the original job_queue table in place,
-- adds flow control's shared state (schema process_jobs) and the trigger listeners wake on.
-- Additive and idempotent: it adds only what is missing (no table lock when nothing is),
-- keeps rows in every state as they are, and redefines the Edge Function's four functions so
-- that the old Edge Function can keep running beside process-jobs until it is switched off.
-- Paste it whole into the Supabase SQL editor, or run `process-jobs migrate`.
BEGIN;

-- One migrator at a time; a second one waits here, then finds nothing left to do.
SELECT pg_advisory_xact_lock(hashtext('process-jobs migrate'));
-- Adding a column needs a brief exclusive lock: give up rather than queue the app behind a long query.
SET LOCAL lock_timeout = '5s';

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
    IF NOT EXISTS (SELECT FROM process_jobs.schema_version WHERE version >= 4) THEN
        INSERT INTO process_jobs.schema_version (version) VALUES (4)
        ON CONFLICT (singleton) DO UPDATE SET version = EXCLUDED.version, migrated_at = now();
    END IF;
END
$migration$;

-- Listen mode (`run --listen`): a notification on channel process_jobs when a job becomes
-- due now; a bulk insert sends one, and the runs' own updates call nothing. The functions
-- are replaced, the triggers created only when missing.
CREATE OR REPLACE FUNCTION process_jobs_notify_due() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM new_jobs WHERE status = 'pending' AND run_at <= now()) THEN
        PERFORM pg_notify('process_jobs', '');
    ELSIF EXISTS (SELECT 1 FROM new_jobs WHERE status = 'pending') THEN
        PERFORM pg_notify('process_jobs', 'later');
    END IF;
    RETURN NULL;
END $$;
CREATE OR REPLACE FUNCTION process_jobs_notify_due_again() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM pg_notify('process_jobs', '');
    RETURN NULL;
END $$;
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_trigger WHERE tgrelid = to_regclass('job_queue') AND tgname = 'job_queue_notify_inserted') THEN
        CREATE TRIGGER job_queue_notify_inserted AFTER INSERT ON job_queue
            REFERENCING NEW TABLE AS new_jobs
            FOR EACH STATEMENT EXECUTE FUNCTION process_jobs_notify_due();
    END IF;
    IF EXISTS (SELECT FROM pg_trigger WHERE tgrelid = to_regclass('job_queue') AND tgname = 'job_queue_notify_updated') THEN
        DROP TRIGGER job_queue_notify_updated ON job_queue;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_trigger WHERE tgrelid = to_regclass('job_queue') AND tgname = 'job_queue_notify_due_again') THEN
        CREATE TRIGGER job_queue_notify_due_again AFTER UPDATE ON job_queue
            FOR EACH ROW
            WHEN (NEW.status = 'pending' AND NEW.run_at <= now()
                  AND NOT coalesce(OLD.status = 'pending' AND OLD.run_at <= now(), false))
            EXECUTE FUNCTION process_jobs_notify_due_again();
    END IF;
END $$;

-- The Edge Function's four functions, same signatures, made safe to run beside process-jobs
-- during the cut-over (docs/supabase.md has the SQL that restores the original bodies).
CREATE OR REPLACE FUNCTION get_next_job() RETURNS SETOF job_queue LANGUAGE sql AS $fn$
    -- Due jobs only (run_at), never one under a live lease; taken and leased in one
    -- statement, so neither another tick nor process-jobs can take it before
    -- mark_job_processing().
    UPDATE job_queue j SET
        status = 'processing', processed_at = now(), updated_at = now(),
        locked_until = now() + make_interval(secs => 300), locked_by = 'edge-function:process-jobs'
    FROM (
        SELECT id FROM job_queue
        WHERE status = 'pending' AND run_at <= now() AND (locked_until IS NULL OR locked_until <= now())
        ORDER BY created_at
        LIMIT 1
        FOR UPDATE SKIP LOCKED
    ) due
    WHERE j.id = due.id
    RETURNING j.*
$fn$;

CREATE OR REPLACE FUNCTION mark_job_processing(job_id uuid) RETURNS void LANGUAGE sql AS $fn$
    -- A lease as long as a process-jobs run's default, so a run rescues the job only if
    -- the Edge Function died with it.
    UPDATE job_queue SET
        status = 'processing', processed_at = now(), updated_at = now(),
        locked_until = now() + make_interval(secs => 300), locked_by = 'edge-function:process-jobs'
    WHERE id = job_id AND (status = 'processing' AND locked_until > now() AND locked_by IS DISTINCT FROM 'edge-function:process-jobs') IS NOT TRUE
$fn$;

CREATE OR REPLACE FUNCTION mark_job_completed(job_id uuid) RETURNS void LANGUAGE sql AS $fn$
    UPDATE job_queue SET
        status = 'completed', completed_at = now(), updated_at = now(), locked_until = NULL, locked_by = NULL
    WHERE id = job_id AND (status = 'processing' AND locked_until > now() AND locked_by IS DISTINCT FROM 'edge-function:process-jobs') IS NOT TRUE
$fn$;

CREATE OR REPLACE FUNCTION mark_job_failed(job_id uuid, error_msg text) RETURNS void LANGUAGE sql AS $fn$
    -- retry_count counts the retries granted, as process-jobs counts them.
    UPDATE job_queue SET
        retry_count = coalesce(retry_count, 0)
            + CASE WHEN coalesce(retry_count, 0) < coalesce(max_retries, 3) THEN 1 ELSE 0 END,
        error_message = error_msg,
        status = CASE WHEN coalesce(retry_count, 0) < coalesce(max_retries, 3) THEN 'pending' ELSE 'failed' END,
        updated_at = now(), locked_until = NULL, locked_by = NULL
    WHERE id = job_id AND (status = 'processing' AND locked_until > now() AND locked_by IS DISTINCT FROM 'edge-function:process-jobs') IS NOT TRUE
$fn$;

COMMIT;
