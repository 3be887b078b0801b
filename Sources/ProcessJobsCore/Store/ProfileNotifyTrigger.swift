import PostgresClient

/// `run --listen --table-profile`: the notify triggers on a profile's table, job_queue's
/// (ListenQueries.trigger) written for the profile's names and words. They notify the table's
/// own channel (TableSQL.channel) when a row becomes due now: an INSERT of a row in the pending
/// word with run_at <= now() (statement-level over a transition table, so a bulk INSERT fires it
/// once; rows due only later notify with payload 'later'), or an UPDATE that makes a row so
/// (row-level with a WHEN clause, so the ticks' updates, which make nothing due, call nothing).
/// `migrate --table-profile` installs them (ProfileMigration); the triggers are created only
/// when missing, so a second migration takes no lock on the table.
enum ProfileNotifyTrigger {
    /// A function: its name and body (pg_proc.prosrc), to write and to compare with the catalog.
    struct Function {
        let name: String
        let reference: String
        let body: String
    }

    /// The INSERT's function: a status word is compared as the column's own type, enum or text
    /// (an untyped literal takes the column's type, so no type name is needed under the
    /// function's empty search_path), every name quoted.
    static func inserted(_ t: TableSQL) -> Function {
        let channel = TableSQL.literal(t.channel)
        let added = t.added("_pj_notify_due")
        return Function(name: added.name, reference: added.reference, body: """

            BEGIN
                IF EXISTS (SELECT 1 FROM new_jobs n WHERE \(due(t, "n"))) THEN
                    PERFORM pg_notify(\(channel), '');
                ELSIF EXISTS (SELECT 1 FROM new_jobs n WHERE \(pending(t, "n"))) THEN
                    PERFORM pg_notify(\(channel), 'later');
                END IF;
                RETURN NULL;
            END
            """)
    }

    /// The UPDATE's function, called only for a row its trigger's WHEN found newly due.
    static func dueAgain(_ t: TableSQL) -> Function {
        let added = t.added("_pj_notify_due_again")
        return Function(name: added.name, reference: added.reference, body: """

            BEGIN
                PERFORM pg_notify(\(TableSQL.literal(t.channel)), '');
                RETURN NULL;
            END
            """)
    }

    private static func pending(_ t: TableSQL, _ alias: String) -> String { "\(t.status(alias)) = \(t.word(.pending))" }

    private static func due(_ t: TableSQL, _ alias: String) -> String {
        "\(pending(t, alias)) AND \(t.column(alias, "run_at")) <= now()"
    }

    /// The two triggers: the INSERT's statement-level (a trigger with a transition table may
    /// have only one event), the UPDATE's row-level with its WHEN.
    static func triggers(_ t: TableSQL) -> [(name: String, definition: String)] {
        [(t.added("_pj_notify_inserted").name,
          "AFTER INSERT ON \(t.table) REFERENCING NEW TABLE AS new_jobs FOR EACH STATEMENT EXECUTE FUNCTION \(inserted(t).reference)()"),
         (t.added("_pj_notify_due_again").name,
          "AFTER UPDATE ON \(t.table) FOR EACH ROW WHEN (\(due(t, "NEW")) AND NOT coalesce(\(due(t, "OLD")), false)) "
            + "EXECUTE FUNCTION \(dueAgain(t).reference)()")]
    }

    /// The statement-level UPDATE trigger earlier migrations made: dropped once, where present.
    static func replacedTrigger(_ t: TableSQL) -> String { t.added("_pj_notify_updated").name }

    /// The functions, replaced (for the migration script, inside its transaction).
    static func functionSQL(_ t: TableSQL) -> String {
        let functions = [inserted(t), dueAgain(t)].map { function in
            """
            CREATE OR REPLACE FUNCTION \(function.reference)() RETURNS trigger
            LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $notify$\(function.body)$notify$;
            """
        }
        return """
            -- Listen mode (`run --listen --table-profile`): a notification on channel \(t.channel) when a job
            -- becomes due now; a bulk insert sends one.
            \(functions.joined(separator: "\n"))
            """
    }

    /// The lines of the migration's DO block that create each trigger when it is missing, and
    /// drop the one it replaces.
    static func triggerLines(_ t: TableSQL) -> [String] {
        let regclass = TableSQL.literal(t.table)
        let replaced = replacedTrigger(t)
        return [
            "    IF EXISTS (SELECT FROM pg_trigger WHERE tgrelid = to_regclass(\(regclass)) AND tgname = \(TableSQL.literal(replaced))) THEN",
            "        DROP TRIGGER \(TableSQL.quoted(replaced)) ON \(t.table);",
            "    END IF;",
        ] + triggers(t).flatMap { trigger in [
            "    IF NOT EXISTS (SELECT FROM pg_trigger WHERE tgrelid = to_regclass(\(regclass)) AND tgname = \(TableSQL.literal(trigger.name))) THEN",
            "        CREATE TRIGGER \(TableSQL.quoted(trigger.name)) \(trigger.definition);",
            "    END IF;",
        ] }
    }

    /// The functions (missing, or written for other names or words) and triggers the table lacks.
    /// Catalog reads only: no lock on the table.
    static func missing(_ t: TableSQL, on connection: Connection) throws(PostgresError) -> [String] {
        var missing: [String] = []
        for function in [inserted(t), dueAgain(t)] {
            let current = try connection.query("SELECT prosrc FROM pg_proc WHERE oid = to_regprocedure($1)",
                                               [function.reference + "()"]).values.first?.first ?? nil
            if current != function.body { missing.append(function.name + "()") }
        }
        for trigger in triggers(t) {
            let absent = try connection.query("SELECT NOT EXISTS (SELECT FROM pg_trigger WHERE tgrelid = to_regclass($1) AND tgname = $2)",
                                              [t.table, trigger.name]).values.first?.first
            if absent == "t" { missing.append(trigger.name) }
        }
        return missing
    }
}
