/// Statements about a table profile's table. Sent unnamed with parameters, like every statement.
enum ProfileQueries {
    /// The table's columns: name, type as SQL spells it, whether the type is an enum, one row
    /// per label of an enum, in order, and whether the column has a default (or is an identity). $1 schema (NULL: the search path), $2 table. No row when
    /// the table is missing. Read-only catalog lookup: safe at any time.
    static let columns = """
        SELECT a.attname, format_type(a.atttypid, a.atttypmod), t.typtype = 'e', e.enumlabel,
               a.atthasdef OR a.attidentity <> ''
        FROM pg_attribute a
        JOIN pg_type t ON t.oid = a.atttypid
        LEFT JOIN pg_enum e ON e.enumtypid = a.atttypid
        WHERE a.attrelid = to_regclass(CASE WHEN $1::text IS NULL THEN quote_ident($2) ELSE format('%I.%I', $1, $2) END)
          AND a.attnum > 0 AND NOT a.attisdropped
        ORDER BY a.attnum, e.enumsortorder
        """
}
