import FoundationEssentials

/// The little JSON the engine needs: is an answer JSON, what is its error text, and how to
/// write a string literal. Bodies are bytes; nothing here allocates beyond one decode.
enum JSONText {
    /// True when `bytes` are one JSON value that PostgreSQL's jsonb will also accept
    /// (jsonb refuses the NUL character, which JSON allows).
    static func isValid(_ bytes: [UInt8]) -> Bool {
        guard !bytes.isEmpty, !containsEscapedNUL(bytes) else { return false }
        return (try? JSONDecoder().decode(JSONValue.self, from: Data(bytes))) != nil
    }

    /// The app's error text: `error` when it is a string, `error.message`, or `message`.
    static func errorField(_ bytes: [UInt8]) -> String? {
        guard bytes.first(where: { !isSpace($0) }) == UInt8(ascii: "{"),
              case .object(let object)? = try? JSONDecoder().decode(JSONValue.self, from: Data(bytes))
        else { return nil }
        switch object["error"] {
        case .string(let text)?: return text
        case .object(let inner)?:
            if case .string(let text)? = inner["message"] { return text }
        default: break
        }
        if case .string(let text)? = object["message"] { return text }
        return nil
    }

    /// `text` as a JSON string literal. NUL is dropped: PostgreSQL text cannot hold it.
    static func quote(_ text: String) -> String {
        var out = "\""
        out.reserveCapacity(text.utf8.count + 2)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{0}": continue
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    private static func isSpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09
    }

    private static func containsEscapedNUL(_ bytes: [UInt8]) -> Bool {
        let needle = Array("\\u0000".utf8)
        guard bytes.count >= needle.count else { return false }
        for start in 0...(bytes.count - needle.count) where bytes[start] == needle[0] {
            if bytes[start..<start + needle.count].elementsEqual(needle) { return true }
        }
        return false
    }
}

/// Any JSON value; used only to validate and to pick the error field.
enum JSONValue: Decodable {
    case object([String: JSONValue])
    case array([JSONValue])
    case string(String)
    case number(Double)
    case bool(Bool)
    case null

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }
}
