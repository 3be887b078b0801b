import PostgresClient

/// `run --listen --table-profile`: the notify trigger on a profile's table, job_queue's
/// (ListenQueries.trigger) written for the profile's names and words. It notifies the table's
/// own channel (TableSQL.channel) when a row becomes due now: an INSERT of a row in the pending
/// word with run_at <= now(), or an UPDATE that makes a row so; an INSERT of rows due only later
/// notifies with payload 'later'. Statement-level over transition tables, as job_queue's: a bulk
/// INSERT fires it once. `migrate --table-profile` installs it (ProfileMigration); the
/// triggers are created only when missing, so a second migration takes no lock on the table.
enum ProfileNotifyTrigger {
    /// The function's body (pg_proc.prosrc): a status word is compared as the column's own
    /// type, enum or text (an untyped literal takes the column's type, so no type name is
    /// needed under the function's empty search_path), every name quoted.
    static func body(_ t: TableSQL) -> String {
        let status = { (alias: String) in "\(t.status(alias)) = \(t.word(.pending))" }
        let due = { (alias: String) in "\(status(alias)) AND \(t.column(alias, "run_at")) <= now()" }
        let channel = TableSQL.literal(t.channel)
        return """

            BEGIN
                IF TG_OP = 'INSERT' THEN
                    IF EXISTS (SELECT 1 FROM new_jobs n WHERE \(due("n"))) THEN
                        PERFORM pg_notify(\(channel), '');
                    ELSIF EXISTS (SELECT 1 FROM new_jobs n WHERE \(status("n"))) THEN
                        PERFORM pg_notify(\(channel), 'later');
                    END IF;
                ELSIF EXISTS (SELECT 1 FROM new_jobs n
                              WHERE \(due("n"))
                                AND NOT EXISTS (SELECT 1 FROM old_jobs o
                                                WHERE \(t.id("o")) = \(t.id("n")) AND \(due("o")))) THEN
                    PERFORM pg_notify(\(channel), '');
                END IF;
                RETURN NULL;
            END
            """
    }

    static func function(_ t: TableSQL) -> (name: String, reference: String) { t.added("_pj_notify_due") }

    /// The two triggers: one per event, since a trigger with transition tables may have only one.
    static func triggers(_ t: TableSQL) -> [(name: String, event: String, transitions: String)] {
        [(t.added("_pj_notify_inserted").name, "INSERT", "NEW TABLE AS new_jobs"),
         (t.added("_pj_notify_updated").name, "UPDATE", "OLD TABLE AS old_jobs NEW TABLE AS new_jobs")]
    }

    /// The function, replaced (for the migration script, inside its transaction).
    static func functionSQL(_ t: TableSQL) -> String {
        """
        -- Listen mode (`run --listen --table-profile`): a notification on channel \(t.channel) when a job
        -- becomes due now; statement-level, so a bulk insert sends one.
        CREATE OR REPLACE FUNCTION \(function(t).reference)() RETURNS trigger
        LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $notify$\(body(t))$notify$;
        """
    }

    /// The lines of the migration's DO block that create each trigger when it is missing.
    static func triggerLines(_ t: TableSQL) -> [String] {
        let regclass = TableSQL.literal(t.table)
        return triggers(t).flatMap { trigger in [
            "    IF NOT EXISTS (SELECT FROM pg_trigger WHERE tgrelid = to_regclass(\(regclass)) AND tgname = \(TableSQL.literal(trigger.name))) THEN",
            "        CREATE TRIGGER \(TableSQL.quoted(trigger.name)) AFTER \(trigger.event) ON \(t.table)",
            "            REFERENCING \(trigger.transitions)",
            "            FOR EACH STATEMENT EXECUTE FUNCTION \(function(t).reference)();",
            "    END IF;",
        ] }
    }

    /// The function (missing, or written for other names or words) and triggers the table lacks.
    /// Catalog reads only: no lock on the table.
    static func missing(_ t: TableSQL, on connection: Connection) throws(PostgresError) -> [String] {
        var missing: [String] = []
        let current = try connection.query("SELECT prosrc FROM pg_proc WHERE oid = to_regprocedure($1)",
                                           [function(t).reference + "()"]).values.first?.first ?? nil
        if current != body(t) { missing.append(function(t).name + "()") }
        for trigger in triggers(t) {
            let absent = try connection.query("SELECT NOT EXISTS (SELECT FROM pg_trigger WHERE tgrelid = to_regclass($1) AND tgname = $2)",
                                              [t.table, trigger.name]).values.first?.first
            if absent == "t" { missing.append(trigger.name) }
        }
        return missing
    }
}
