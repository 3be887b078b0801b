/// The three job tables other Supabase apps keep, created exactly as those apps create them
/// (the table-profiles issue): the tests of `--table-profile` run against these.
enum SeedTables {
    /// A handbook generator's jobs: uuid-ossp ids, text statuses, the prompt as the payload.
    static let documentJobs = """
        CREATE EXTENSION IF NOT EXISTS "uuid-ossp";
        CREATE TABLE document_jobs (
            job_id uuid PRIMARY KEY DEFAULT uuid_generate_v4(),
            status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'processing', 'completed', 'failed')),
            prompt text NOT NULL,
            html text,
            project_id text,
            error text,
            result jsonb,
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now()
        );
        """

    /// An AI agent template's jobs: an enum status with its own words, users from auth.users,
    /// row level security with a policy for the service role.
    static let agentJobs = """
        CREATE SCHEMA IF NOT EXISTS auth;
        CREATE TABLE IF NOT EXISTS auth.users (id uuid PRIMARY KEY DEFAULT gen_random_uuid());
        DO $roles$ BEGIN
            IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'service_role') THEN
                CREATE ROLE service_role NOLOGIN BYPASSRLS;
            END IF;
        END $roles$;
        CREATE TYPE job_status AS ENUM ('pending', 'running', 'completed', 'failed', 'cancelled');
        CREATE TABLE jobs (
            id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            user_id uuid REFERENCES auth.users(id),
            agent_identifier text NOT NULL,
            status job_status NOT NULL DEFAULT 'pending',
            job_data jsonb,
            result jsonb,
            error_message text,
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now(),
            started_at timestamptz,
            completed_at timestamptz
        );
        ALTER TABLE jobs ENABLE ROW LEVEL SECURITY;
        CREATE POLICY "Service role can manage jobs" ON jobs FOR ALL TO service_role USING (true) WITH CHECK (true);
        """

    /// A persistent operation store: text ids, epoch-millisecond times, rows deleted after an hour.
    static let operations = """
        CREATE TABLE operations (
            id text PRIMARY KEY,
            status text NOT NULL CHECK (status IN ('pending', 'processing', 'complete', 'error')),
            progress integer DEFAULT 0,
            message text NOT NULL,
            result jsonb,
            error text,
            metadata jsonb,
            created_at bigint NOT NULL,
            updated_at bigint NOT NULL
        );
        CREATE FUNCTION cleanup_old_operations() RETURNS void LANGUAGE sql AS $fn$
            DELETE FROM operations WHERE updated_at < (extract(epoch FROM now()) * 1000)::bigint - 3600000;
        $fn$;
        """
}
