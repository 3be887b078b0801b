/// A JSON document to write (`status --json`): keys keep their order, so the output is stable
/// and reads in the order the documentation gives.
public indirect enum JSONOut: Sendable, Equatable {
    case object([(String, JSONOut)])
    case array([JSONOut])
    case string(String)
    case int(Int)
    /// Written with at most three decimals, never an exponent; non-finite numbers become null.
    case number(Double)
    case bool(Bool)
    case null

    public static func == (lhs: JSONOut, rhs: JSONOut) -> Bool {
        lhs.rendered() == rhs.rendered()
    }

    /// Two-space indentation, one member per line; a trailing newline.
    public func rendered() -> String {
        var out = ""
        write(to: &out, indent: "")
        return out + "\n"
    }

    private func write(to out: inout String, indent: String) {
        switch self {
        case .object(let members):
            guard !members.isEmpty else { out += "{}"; return }
            out += "{\n"
            for (index, (key, value)) in members.enumerated() {
                out += indent + "  " + JSONText.quote(key) + ": "
                value.write(to: &out, indent: indent + "  ")
                out += index == members.count - 1 ? "\n" : ",\n"
            }
            out += indent + "}"
        case .array(let items):
            guard !items.isEmpty else { out += "[]"; return }
            out += "[\n"
            for (index, item) in items.enumerated() {
                out += indent + "  "
                item.write(to: &out, indent: indent + "  ")
                out += index == items.count - 1 ? "\n" : ",\n"
            }
            out += indent + "]"
        case .string(let text): out += JSONText.quote(text)
        case .int(let value): out += String(value)
        case .number(let value): out += value.isFinite ? NumberText.fixed(value, decimals: 3) : "null"
        case .bool(let value): out += value ? "true" : "false"
        case .null: out += "null"
        }
    }
}

extension Optional where Wrapped == Double {
    var json: JSONOut { map { .number($0) } ?? .null }
}

extension Optional where Wrapped == String {
    var json: JSONOut { map { .string($0) } ?? .null }
}
