/// Columns aligned with spaces for a terminal: text left, numbers right.
public struct TextTable: Sendable {
    public enum Alignment: Sendable { case left, right }

    public var headers: [String]
    public var alignments: [Alignment]
    public var rows: [[String]] = []

    public init(headers: [String], alignments: [Alignment]) {
        precondition(headers.count == alignments.count)
        self.headers = headers
        self.alignments = alignments
    }

    public mutating func append(_ row: [String]) {
        precondition(row.count == headers.count)
        rows.append(row)
    }

    /// Each line ends in a newline; columns are two spaces apart; no trailing spaces. Control
    /// characters in a cell are escaped (TerminalText), so a cell is never more than one line.
    public func rendered() -> String {
        let rows = self.rows.map { $0.map(TerminalText.escaped) }
        var widths = headers.map(\.count)
        for row in rows {
            for (index, cell) in row.enumerated() { widths[index] = max(widths[index], cell.count) }
        }
        var out = ""
        for row in [headers] + rows {
            var line = ""
            for (index, cell) in row.enumerated() {
                let padding = String(repeating: " ", count: widths[index] - cell.count)
                if index > 0 { line += "  " }
                line += alignments[index] == .left ? cell + padding : padding + cell
            }
            while line.last == " " { line.removeLast() }
            out += line + "\n"
        }
        return out
    }
}
