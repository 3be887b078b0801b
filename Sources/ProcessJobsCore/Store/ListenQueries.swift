/// The statements of listen mode: the probe that tells a session from a transaction-mode
/// pooler, and the trigger that wakes listeners when a job becomes due now.
enum ListenQueries {
    /// The listen check's NOTIFY, sent from a second connection. $1 channel, $2 payload.
    /// Concurrency: a notification changes no row; other listeners on the channel ignore a
    /// payload that is not theirs (probes carry PoolerCheck.payloadPrefix).
    static let probe = "SELECT pg_notify($1, $2)"

    /// The triggers that notify channel process_jobs when a job becomes due now: an INSERT of a
    /// pending row with run_at <= now(), or an UPDATE that makes a row so (back to pending, or
    /// run_at moved into the past). For the migration script (no parameters, run once).
    ///
    /// The INSERT's is statement-level, over a transition table: a bulk INSERT of 100,000 rows
    /// fires it once and sends one notification (the EXISTS stops at the first due row). The
    /// payload is empty: a listener only needs to know that claiming may find something; the
    /// claim decides what. An INSERT of jobs due only later (scheduled by the app) notifies with
    /// payload 'later': a listener's probe then learns the earliest run_at and it sleeps until
    /// then, not until its backstop poll.
    ///
    /// The UPDATE's is row-level with a WHEN clause, checked by the server for each row without
    /// calling anything: every tick updates the rows it claims and records, none of which becomes
    /// due, and a statement-level trigger ran for each and held them all in its transition
    /// tables (docs/listen.md has what that cost). A bulk update that makes many rows due calls the function per row, and
    /// their identical notifications are merged into one at commit.
    ///
    /// Concurrency: NOTIFY is delivered at commit, so a listener woken by it sees the rows; a
    /// rolled-back statement notifies nobody. The functions are replaced, the triggers created
    /// only when missing (pg_trigger), so running the migration again takes no lock on
    /// job_queue; the statement-level UPDATE trigger earlier migrations made is dropped once.
    /// Transition tables need PostgreSQL 10.
    static let trigger = """
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
        """
}
