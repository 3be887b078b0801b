/// Whether row level security lets this role work on job_queue, judged from the catalog. With
/// RLS on and no policy for the role, PostgreSQL shows it an empty table: every run claims
/// nothing and exits 0, `status` shows an empty queue. This tells that apart from a queue that
/// really is empty.
public struct RowSecurity: Sendable, Equatable {
    public var role: String
    /// pg_class.relrowsecurity, relforcerowsecurity.
    public var enabled: Bool
    public var forced: Bool
    /// The role has the owner's privileges (the owner bypasses RLS unless it is forced).
    public var owner: Bool
    /// Superuser or BYPASSRLS.
    public var bypass: Bool
    /// A permissive policy for SELECT (or ALL) applies to the role: to it, PUBLIC, or a role whose privileges it has.
    public var selectPolicy: Bool
    /// Likewise for UPDATE: claiming and recording are updates.
    public var updatePolicy: Bool
    /// The planner's estimate (pg_class.reltuples, -1 when never analyzed) and the statistics'
    /// live rows: both must say the table has rows before "sees none" means anything.
    public var estimatedRows: Double
    public var liveRows: Double
    /// Whether a SELECT as this role returns any row.
    public var seesRows: Bool

    public init(role: String, enabled: Bool, forced: Bool, owner: Bool, bypass: Bool, selectPolicy: Bool,
                updatePolicy: Bool, estimatedRows: Double, liveRows: Double, seesRows: Bool) {
        self.role = role
        self.enabled = enabled
        self.forced = forced
        self.owner = owner
        self.bypass = bypass
        self.selectPolicy = selectPolicy
        self.updatePolicy = updatePolicy
        self.estimatedRows = estimatedRows
        self.liveRows = liveRows
        self.seesRows = seesRows
    }

    public enum Verdict: Sendable, Equatable {
        case pass(String)
        /// The role cannot work on the table's rows: a person must add a policy (exit 78).
        case fail(String)
    }

    public var verdict: Verdict {
        let role = TerminalText.escaped(self.role)
        guard enabled else { return .pass("off on job_queue") }
        if bypass { return .pass("on, but role \(role) bypasses it (superuser or BYPASSRLS)") }
        if owner && !forced { return .pass("on, but role \(role) owns job_queue, so it does not apply") }
        let fix = "add a policy for it, e.g. CREATE POLICY process_jobs_all_rows ON job_queue FOR ALL TO \(role) USING (true) WITH CHECK (true) (deploy/supabase/least-privilege.sql)"
        if !selectPolicy {
            return .fail("row level security is on for job_queue and no policy lets role \(role) see rows, so it sees an empty queue and claims nothing: \(fix)")
        }
        if !updatePolicy {
            return .fail("row level security is on for job_queue and no policy lets role \(role) update rows, so it can claim nothing: \(fix)")
        }
        if !seesRows && estimatedRows >= 1 && liveRows >= 1 {
            return .fail("row level security is on for job_queue: the table has about \(Int(min(estimatedRows, 1e15))) rows but role \(role) sees none, so its policies hide every job: \(fix)")
        }
        return .pass("on; policies let role \(role) see and update rows")
    }
}
