import PostgresClient

/// `migrate --table-profile`: what the run needs added to a profile's table, beside what
/// `Migration` makes (process_jobs' flow-control state, and job_queue, where failure jobs go).
/// Additive and idempotent as that migration: each column, index and trigger only when missing (the
/// notify trigger's function replaced when written for other names or words), existing
/// columns, enum types, policies and rows left as they are (but a pending job's run_at, which
/// starts at its creation so that its age reads true).
public enum ProfileMigration {
    /// The columns, indexes and notify trigger `profile` needs that its table lacks (empty: nothing to do).
    public static func missing(_ profile: TableProfile, on connection: Connection) throws(PostgresError) -> [String] {
        let present = Set(try ProfileCatalog.read(profile, connection: connection).columns.map(\.name))
        var missing = TableSQL.addedColumns.filter { !present.contains($0) }
        let table = TableSQL.unchecked(profile)
        for index in indexes(table) where try connection.query("SELECT to_regclass($1) IS NULL", [index.reference]).values.first?.first == "t" {
            missing.append(index.name)
        }
        return missing + (try ProfileNotifyTrigger.missing(table, on: connection))
    }

    /// What `run --listen` needs on `profile`'s table and it lacks: the notify trigger, or its
    /// function written for other names or words (empty: it is in place).
    public static func missingNotifyTrigger(_ profile: TableProfile, on connection: Connection) throws(PostgresError) -> [String] {
        try ProfileNotifyTrigger.missing(TableSQL.unchecked(profile), on: connection)
    }

    /// The SQL, as `migrate --print --table-profile` shows it and `migrate` runs it.
    public static func sql(_ profile: TableProfile) -> String {
        let t = TableSQL.unchecked(profile)
        let columns: [(name: String, definition: String, why: String)] = [
            ("run_at", "timestamptz NOT NULL DEFAULT now()", "Earliest time a pending job may run (backoff)."),
            ("locked_until", "timestamptz", "The lease of a processing job: until when, who holds it, since when (its fence)."),
            ("locked_by", "text", ""),
            ("locked_at", "timestamptz", ""),
            ("retry_count", "integer DEFAULT 0", "Retries granted and allowed."),
            ("max_retries", "integer DEFAULT 3", ""),
            ("cancelled_at", "timestamptz", "Set by `process-jobs cancel`: the outcome may no longer schedule a retry."),
        ]
        let regclass = TableSQL.literal(t.table)
        var lines = ["DO $profile$", "BEGIN"]
        for column in columns {
            if !column.why.isEmpty { lines.append("    -- \(column.why)") }
            lines.append("    IF NOT EXISTS (SELECT FROM pg_attribute WHERE attrelid = to_regclass(\(regclass)) AND attname = \(TableSQL.literal(column.name)) AND NOT attisdropped) THEN")
            lines.append("        ALTER TABLE \(t.table) ADD COLUMN \(t.column("", column.name)) \(column.definition);")
            if column.name == "run_at" {
                // Jobs still waiting are due since they were created; finished rows keep the
                // migration's time (rewriting them all would hold the lock for the whole table).
                lines.append("        UPDATE \(t.table) SET \(t.column("", "run_at")) = \(t.createdTime(""))")
                lines.append("        WHERE \(t.createdTime("")) < \(t.column("", "run_at")) AND \(t.status("")) NOT IN (\(t.word(.completed)), \(t.word(.failed)));")
            }
            lines.append("    END IF;")
        }
        for index in indexes(t) {
            lines.append("    -- \(index.why)")
            lines.append("    IF to_regclass(\(TableSQL.literal(index.reference))) IS NULL THEN")
            lines.append("        CREATE INDEX \(TableSQL.quoted(index.name)) ON \(t.table) \(index.definition);")
            lines.append("    END IF;")
        }
        lines.append("    -- Wakes `run --listen --table-profile` (channel \(t.channel)); created only when missing.")
        lines += ProfileNotifyTrigger.triggerLines(t)
        lines += ["END", "$profile$;", ""]
        return """
            -- process-jobs: what the run needs on \(profile.table) (--table-profile). Additive and idempotent:
            -- only what is missing is added; existing columns, types, policies and rows stay as they are.
            BEGIN;
            \(Migration.lockStatements[0]);
            \(Migration.lockStatements[1]);
            \(ProfileNotifyTrigger.functionSQL(t))
            \(lines.joined(separator: "\n"))
            COMMIT;

            """
    }

    /// Adds what is missing, in one transaction under the migrators' lock; returns what it added.
    public static func apply(_ profile: TableProfile, on connection: Connection) throws(PostgresError) -> [String] {
        let missing = try missing(profile, on: connection)
        guard !missing.isEmpty else { return [] }
        do {
            try connection.execute(script: sql(profile))
        } catch {
            _ = try? connection.query("ROLLBACK")
            throw error
        }
        return missing
    }

    /// The partial indexes of the claim, the lease rescue and the fair claim (with a user column),
    /// each matching its statement's predicate and order.
    private static func indexes(_ t: TableSQL) -> [(name: String, reference: String, definition: String, why: String)] {
        let type: String? = if case .column(let name) = t.profile.jobType { t.column("", name) } else { nil }
        let created = t.createdOrder("")
        var indexes = [
            (suffix: "_pj_claim_idx", why: "Serves the claim: pending jobs of one type, oldest first.",
             definition: "(\(([type, created] as [String?]).compactMap { $0 }.joined(separator: ", "))) WHERE \(t.status("")) = \(t.word(.pending))"),
            (suffix: "_pj_lease_idx", why: "Serves lease rescue and the count of live leases.",
             definition: "(\(t.column("", "locked_until"))) WHERE \(t.status("")) = \(t.word(.processing))"),
        ]
        if let user = t.profile.user {
            indexes.append((suffix: "_pj_fair_idx", why: "Serves the fair claim: the next user with pending jobs of a type.",
                            definition: "(\(([type, "(coalesce(\(t.column("", user))::text, ''))", created] as [String?]).compactMap { $0 }.joined(separator: ", "))) WHERE \(t.status("")) = \(t.word(.pending))"))
        }
        return indexes.map { (name: t.added($0.suffix).name, reference: t.added($0.suffix).reference, definition: $0.definition, why: $0.why) }
    }
}
