-- A database role for process-jobs with only what it needs: rows of job_queue and of the
-- flow-control tables in schema process_jobs, nothing else.
-- Run it once as the owner of job_queue (on Supabase: the `postgres` user, e.g. in the SQL
-- editor), before or after `process-jobs migrate` (which itself must run as the owner: it alters
-- the table and creates the process_jobs tables, which this role then gets by default privileges).
-- Idempotent: running it again resets the grants, and the password to the one written here.
--
-- Replace CHANGE-ME with a long random password (e.g. `openssl rand -hex 32`), or set it afterwards
-- with psql's `\password process_jobs` so it never appears in a statement log. Use the role
-- in DATABASE_URL: postgresql://process_jobs:<password>@db.<ref>.supabase.co:5432/postgres?sslmode=verify-full
-- (through Supavisor the user name is process_jobs.<ref>; see docs/supabase.md).
--
-- What each command needs:
--   run       SELECT, UPDATE (claim, record, rescue leases; FOR UPDATE needs UPDATE); on the
--             process_jobs tables SELECT, INSERT, UPDATE (route state, pauses, schema version)
--   pause, resume   INSERT, UPDATE on process_jobs.route_pause
--   cancel    UPDATE
--   enqueue   INSERT (and SELECT for RETURNING id)
--   retry     UPDATE
--   prune     DELETE
--   status, check   SELECT
--   migrate   table ownership: it stays with the owner, run it as the owner.

-- CREATE ROLE's defaults are what we want: NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION
-- NOBYPASSRLS (row level security applies to it, unlike Supabase's service_role). They are not
-- repeated below because naming them needs a superuser, which Supabase's postgres user is not.
DO $role$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'process_jobs') THEN
        CREATE ROLE process_jobs LOGIN;
    END IF;
END
$role$;

-- No rights inherited from other roles; a few connections at most (each process-jobs process
-- holds one: raise it for many hosts or pods).
ALTER ROLE process_jobs WITH LOGIN NOINHERIT CONNECTION LIMIT 20 PASSWORD 'CHANGE-ME';

-- Start from nothing on the table, then grant the four row privileges. No TRUNCATE, REFERENCES,
-- TRIGGER; no ALTER/DROP (those need ownership). New columns added by a later migration are
-- covered: the grants are table-wide.
REVOKE ALL ON TABLE job_queue FROM process_jobs;
GRANT USAGE ON SCHEMA public TO process_jobs;
GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE job_queue TO process_jobs;

-- Flow control's schema. Created here when missing, owned by the role running this script (the
-- table's owner, who runs `migrate`), so that the default privileges below cover the tables
-- `migrate` creates in it. Nothing for PUBLIC: Supabase's anon and authenticated roles get
-- nothing, and the schema is not in the Data API's exposed schemas (docs/flow-control.md).
CREATE SCHEMA IF NOT EXISTS process_jobs;
REVOKE ALL ON SCHEMA process_jobs FROM PUBLIC;
GRANT USAGE ON SCHEMA process_jobs TO process_jobs;
-- Rows only (no DELETE, TRUNCATE, REFERENCES, TRIGGER), on the tables there now and on those a
-- later `migrate` adds.
GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA process_jobs TO process_jobs;
ALTER DEFAULT PRIVILEGES IN SCHEMA process_jobs GRANT SELECT, INSERT, UPDATE ON TABLES TO process_jobs;

-- Supabase's advice is to enable row level security on public tables; then a role without
-- BYPASSRLS sees no row unless a policy lets it. This policy lets process_jobs (and only it) see
-- and change every row. It has no effect while RLS is off, so it is safe to create either way.
DROP POLICY IF EXISTS process_jobs_all_rows ON job_queue;
CREATE POLICY process_jobs_all_rows ON job_queue FOR ALL TO process_jobs USING (true) WITH CHECK (true);

-- Listen mode (`run --listen`): LISTEN and NOTIFY need no privilege, and the trigger `migrate`
-- installs on job_queue fires with whatever role changes a row (PostgreSQL checks EXECUTE on a
-- trigger function only when the trigger is created, by the table's owner): nothing to grant.

-- Optional: the old Edge Function's functions are not used by process-jobs; nothing to grant.
-- To remove the role again:
--   DROP POLICY IF EXISTS process_jobs_all_rows ON job_queue;
--   REVOKE ALL ON TABLE job_queue FROM process_jobs; REVOKE USAGE ON SCHEMA public FROM process_jobs;
--   ALTER DEFAULT PRIVILEGES IN SCHEMA process_jobs REVOKE ALL ON TABLES FROM process_jobs;
--   REVOKE ALL ON ALL TABLES IN SCHEMA process_jobs FROM process_jobs; REVOKE USAGE ON SCHEMA process_jobs FROM process_jobs;
--   DROP ROLE process_jobs;
