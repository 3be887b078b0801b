/// The SQLSTATE codes this program acts on, by their PostgreSQL names (Appendix A), so a
/// decision reads as what it is about rather than as five characters.
public enum SQLState {
    public static let undefinedTable = "42P01"
    public static let undefinedColumn = "42703"
    public static let undefinedFunction = "42883"
    public static let insufficientPrivilege = "42501"
    public static let readOnlySQLTransaction = "25006"
    public static let foreignKeyViolation = "23503"
    public static let notNullViolation = "23502"
    public static let checkViolation = "23514"
    public static let invalidTextRepresentation = "22P02"
    public static let numericValueOutOfRange = "22003"
    public static let datetimeFieldOverflow = "22008"
    public static let queryCanceled = "57014"

    /// Classes whose errors pass with time: connection exception, insufficient resources,
    /// operator intervention, transaction rollback, system error.
    public static let transientClasses: Set<Substring> = ["08", "53", "57", "40", "58"]

    /// The schema is not what the statement expects: a table, column or function is missing.
    public static let schemaMissing: Set<String> = [undefinedTable, undefinedColumn, undefinedFunction]
}
