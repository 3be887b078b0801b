/// The text-format result of one statement: column names and values, NULL as nil.
public struct Rows: Sendable {
    public let columns: [String]
    public let values: [[String?]]
    /// Rows changed by an INSERT/UPDATE/DELETE, as the server reported it.
    public let affected: Int

    public var count: Int { values.count }
    public var isEmpty: Bool { values.isEmpty }

    public func column(_ name: String) -> Int {
        guard let index = columns.firstIndex(of: name) else {
            preconditionFailure("no column \(name) in result (\(columns))")
        }
        return index
    }

    public subscript(row: Int, column: String) -> String? {
        values[row][self.column(column)]
    }
}
