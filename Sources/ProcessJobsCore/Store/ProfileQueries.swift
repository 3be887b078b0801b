/// Statements about a table profile's table. Sent unnamed with parameters, like every statement.
enum ProfileQueries {
    /// The table's columns in order: name, type as SQL spells it, an enum's labels in order as a
    /// JSON array (NULL for any other type), and whether the column has a default (or is an
    /// identity). $1 schema (NULL: the search path), $2 table. No row when the table is missing.
    /// The labels come from a subquery rather than a join with pg_type and pg_enum: one catalog
    /// join less to plan, about 0.4 ms of a fresh session's 2.7 ms for this statement (it runs at
    /// the start of every command with a profile, the idle run's included). Read-only catalog
    /// lookup: safe at any time.
    static let columns = """
        SELECT a.attname, format_type(a.atttypid, a.atttypmod),
               (SELECT json_agg(e.enumlabel ORDER BY e.enumsortorder) FROM pg_enum e WHERE e.enumtypid = a.atttypid),
               a.atthasdef OR a.attidentity <> ''
        FROM pg_attribute a
        WHERE a.attrelid = to_regclass(CASE WHEN $1::text IS NULL THEN quote_ident($2) ELSE format('%I.%I', $1, $2) END)
          AND a.attnum > 0 AND NOT a.attisdropped
        ORDER BY a.attnum
        """
}
