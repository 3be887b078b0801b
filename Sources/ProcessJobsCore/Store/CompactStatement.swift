/// A statement written against a fixed list of parameters ($1...$n), renumbered to those it
/// uses: the server must infer a type for every parameter it is sent, so one that a statement's
/// text leaves out cannot go with it. Statement texts hold no `$` but in parameter numbers.
struct CompactStatement: Sendable, Equatable {
    /// The text, its parameters numbered $1...$k in the order of their original numbers.
    let sql: String
    /// The original number (1-based) of each parameter the text uses, in their new order.
    let used: [Int]

    init(_ sql: String) {
        var numbers = Set<Int>()
        Self.scan(sql) { numbers.insert($0) }
        used = numbers.sorted()
        let renumbered = Dictionary(uniqueKeysWithValues: used.enumerated().map { ($0.element, $0.offset + 1) })
        var text = ""
        text.reserveCapacity(sql.utf8.count)
        Self.scan(sql, literal: { text += $0 }) { text += "$\(renumbered[$0]!)" }
        self.sql = text
    }

    /// The values for `used`, picked from the full list.
    func parameters(_ all: [String?]) -> [String?] {
        used.map { $0 <= all.count ? all[$0 - 1] : nil }
    }

    /// Calls `number` for each `$N` in `sql` and `literal` for the text between them.
    private static func scan(_ sql: String, literal: (Substring) -> Void = { _ in }, number: (Int) -> Void) {
        var rest = sql[...]
        while let dollar = rest.firstIndex(of: "$") {
            let digits = rest[rest.index(after: dollar)...].prefix { $0.isASCII && $0.isNumber }
            guard let value = Int(digits) else {
                literal(rest[...dollar])
                rest = rest[rest.index(after: dollar)...]
                continue
            }
            literal(rest[..<dollar])
            number(value)
            rest = rest[digits.endIndex...]
        }
        literal(rest)
    }
}
