/// The statements of listen mode: the probe that tells a session from a transaction-mode
/// pooler, and the trigger that wakes listeners when a job becomes due now.
enum ListenQueries {
    /// The listen check's NOTIFY, sent from a second connection. $1 channel, $2 payload.
    /// Concurrency: a notification changes no row; other listeners on the channel ignore a
    /// payload that is not theirs (probes carry PoolerCheck.payloadPrefix).
    static let probe = "SELECT pg_notify($1, $2)"

    /// The trigger that notifies channel process_jobs when a job becomes due now: an INSERT of a
    /// pending row with run_at <= now(), or an UPDATE that makes a row so (back to pending, or
    /// run_at moved into the past). For the migration script (no parameters, run once).
    ///
    /// Statement-level, over transition tables: a bulk INSERT of 100,000 rows fires it once and
    /// sends one notification (the EXISTS stops at the first due row), where a row-level
    /// trigger would run 100,000 times. The payload is empty: a listener only needs to know
    /// that claiming may find something; the claim decides what. An INSERT of jobs due only
    /// later (scheduled by the app) notifies with payload 'later': a listener's probe then
    /// learns the earliest run_at and it sleeps until then, not until its backstop poll.
    ///
    /// Concurrency: NOTIFY is delivered at commit, so a listener woken by it sees the rows; a
    /// rolled-back statement notifies nobody; notifications of one transaction are merged. The
    /// function and triggers are created only when missing (pg_trigger), so running the
    /// migration again takes no lock on job_queue. Transition tables need PostgreSQL 10; one
    /// trigger per event because a trigger with transition tables may have only one.
    static let trigger = """
        CREATE OR REPLACE FUNCTION process_jobs_notify_due() RETURNS trigger
        LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
        BEGIN
            IF TG_OP = 'INSERT' THEN
                IF EXISTS (SELECT 1 FROM new_jobs WHERE status = 'pending' AND run_at <= now()) THEN
                    PERFORM pg_notify('process_jobs', '');
                ELSIF EXISTS (SELECT 1 FROM new_jobs WHERE status = 'pending') THEN
                    PERFORM pg_notify('process_jobs', 'later');
                END IF;
            ELSIF EXISTS (SELECT 1 FROM new_jobs n
                          WHERE n.status = 'pending' AND n.run_at <= now()
                            AND NOT EXISTS (SELECT 1 FROM old_jobs o
                                            WHERE o.id = n.id AND o.status = 'pending' AND o.run_at <= now())) THEN
                PERFORM pg_notify('process_jobs', '');
            END IF;
            RETURN NULL;
        END $$;
        DO $$
        BEGIN
            IF NOT EXISTS (SELECT FROM pg_trigger WHERE tgrelid = to_regclass('job_queue') AND tgname = 'job_queue_notify_inserted') THEN
                CREATE TRIGGER job_queue_notify_inserted AFTER INSERT ON job_queue
                    REFERENCING NEW TABLE AS new_jobs
                    FOR EACH STATEMENT EXECUTE FUNCTION process_jobs_notify_due();
            END IF;
            IF NOT EXISTS (SELECT FROM pg_trigger WHERE tgrelid = to_regclass('job_queue') AND tgname = 'job_queue_notify_updated') THEN
                CREATE TRIGGER job_queue_notify_updated AFTER UPDATE ON job_queue
                    REFERENCING OLD TABLE AS old_jobs NEW TABLE AS new_jobs
                    FOR EACH STATEMENT EXECUTE FUNCTION process_jobs_notify_due();
            END IF;
        END $$;
        """
}
