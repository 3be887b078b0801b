import Foundation
import PostgresClient

/// The schema the app had before process-jobs: the table and the Edge Function's four functions.
enum Fixtures {
    static let originalSchema = """
        CREATE TABLE job_queue (
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
        CREATE INDEX idx_job_queue_status ON job_queue (status, created_at);
        CREATE FUNCTION get_next_job() RETURNS SETOF job_queue LANGUAGE plpgsql AS $$
        BEGIN
            RETURN QUERY SELECT * FROM job_queue WHERE status = 'pending'
                ORDER BY created_at ASC LIMIT 1 FOR UPDATE SKIP LOCKED;
        END $$;
        CREATE FUNCTION mark_job_processing(job_id uuid) RETURNS void LANGUAGE plpgsql AS $$
        BEGIN
            UPDATE job_queue SET status = 'processing', processed_at = now() WHERE id = job_id;
        END $$;
        CREATE FUNCTION mark_job_completed(job_id uuid) RETURNS void LANGUAGE plpgsql AS $$
        BEGIN
            UPDATE job_queue SET status = 'completed', completed_at = now() WHERE id = job_id;
        END $$;
        CREATE FUNCTION mark_job_failed(job_id uuid, error_msg text) RETURNS void LANGUAGE plpgsql AS $$
        BEGIN
            UPDATE job_queue SET
                retry_count = retry_count + 1,
                error_message = error_msg,
                status = CASE WHEN retry_count < max_retries THEN 'pending' ELSE 'failed' END
            WHERE id = job_id;
        END $$;
        """
}

/// A job row as the tests read it.
struct JobRow {
    let id: String
    let type: String
    let status: String
    let retryCount: Int
    let errorMessage: String?
    let result: String?
    let lockedBy: String?
    /// run_at - now(), in seconds (negative when due).
    let runInSeconds: Double
    let completed: Bool
}

extension Connection {
    /// Inserts a job as the app does and returns its id.
    @discardableResult
    func insertJob(_ type: String, payload: String = #"{"projectId":"p1","imageType":"main","style":"modern"}"#,
                   userId: String? = "user-1", maxRetries: Int = 3) throws -> String {
        let rows = try query("INSERT INTO job_queue (job_type, payload, user_id, max_retries) VALUES ($1, $2::jsonb, $3, $4) RETURNING id",
                             [type, payload, userId, String(maxRetries)])
        return rows.values[0][0]!
    }

    /// Inserts `count` jobs in one statement.
    func insertJobs(_ type: String, count: Int, payload: String = #"{"projectId":"p1","imageType":"main"}"#) throws {
        try query("INSERT INTO job_queue (job_type, payload, user_id) SELECT $1, $2::jsonb, 'user-' || g FROM generate_series(1, $3::int) g",
                  [type, payload, String(count)])
    }

    func job(_ id: String) throws -> JobRow {
        try jobs(where: "id = $1", [id]).first!
    }

    func jobs(where condition: String = "true", _ parameters: [String?] = []) throws -> [JobRow] {
        let rows = try query("""
            SELECT id, job_type, status, coalesce(retry_count, 0) AS retry_count, error_message, result::text AS result,
                   locked_by, extract(epoch FROM run_at - now())::float8 AS run_in, completed_at IS NOT NULL AS completed
            FROM job_queue WHERE \(condition) ORDER BY created_at, id
            """, parameters)
        return rows.values.map {
            JobRow(id: $0[0]!, type: $0[1]!, status: $0[2]!, retryCount: Int($0[3]!)!, errorMessage: $0[4],
                   result: $0[5], lockedBy: $0[6], runInSeconds: Double($0[7] ?? "0") ?? 0, completed: $0[8] == "t")
        }
    }

    func count(where condition: String) throws -> Int {
        Int(try query("SELECT count(*) FROM job_queue WHERE \(condition)").values[0][0]!)!
    }
}
