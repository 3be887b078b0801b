-- Rollback: puts back the Edge Function's four original functions, as they were before
-- `process-jobs migrate` redefined them. Run it as the owner of job_queue, after process-jobs is
-- stopped, and only if you want the original bodies back: the redefined ones serve the Edge
-- Function as well (and more safely). Same signatures, so the Edge Function needs no change.
BEGIN;

CREATE OR REPLACE FUNCTION get_next_job() RETURNS SETOF job_queue LANGUAGE plpgsql AS $$
BEGIN
    RETURN QUERY SELECT * FROM job_queue WHERE status = 'pending'
        ORDER BY created_at ASC LIMIT 1 FOR UPDATE SKIP LOCKED;
END $$;

CREATE OR REPLACE FUNCTION mark_job_processing(job_id uuid) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    UPDATE job_queue SET status = 'processing', processed_at = now() WHERE id = job_id;
END $$;

CREATE OR REPLACE FUNCTION mark_job_completed(job_id uuid) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    UPDATE job_queue SET status = 'completed', completed_at = now() WHERE id = job_id;
END $$;

CREATE OR REPLACE FUNCTION mark_job_failed(job_id uuid, error_msg text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    UPDATE job_queue SET
        retry_count = retry_count + 1,
        error_message = error_msg,
        status = CASE WHEN retry_count < max_retries THEN 'pending' ELSE 'failed' END
    WHERE id = job_id;
END $$;

COMMIT;
