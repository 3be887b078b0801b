import FoundationEssentials

/// The little JSON the engine needs: is an answer JSON, what is its error text, and how to
/// write a string literal. Bodies are bytes; nothing here allocates beyond one decode.
enum JSONText {
    /// True when `bytes` are one JSON value that PostgreSQL's jsonb also accepts: valid UTF-8,
    /// no \u0000, no lone surrogate, numbers within numeric's range. A scan over the bytes with no
    /// allocation: every 2xx answer goes through it.
    static func isValid(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBufferPointer { buffer in
            var scanner = JSONScanner(buffer)
            return scanner.document()
        }
    }

    /// The app's error text: `error` when it is a string, `error.message`, or `message`.
    static func errorField(_ bytes: [UInt8]) -> String? {
        guard bytes.first(where: { !isSpace($0) }) == UInt8(ascii: "{"),
              let fields = try? JSONDecoder().decode(ErrorFields.self, from: Data(bytes)) else { return nil }
        return fields.error ?? fields.message
    }

    /// Only the fields an error answer may carry are decoded: decoding a whole answer as
    /// JSONValue cost seconds of CPU for one nested 511 levels deep.
    private struct ErrorFields: Decodable {
        var error: String?
        var message: String?

        enum Keys: CodingKey { case error, message }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: Keys.self)
            if let text = try? container.decode(String.self, forKey: .error) {
                error = text
            } else if let inner = try? container.nestedContainer(keyedBy: Keys.self, forKey: .error) {
                error = try? inner.decode(String.self, forKey: .message)
            }
            message = try? container.decode(String.self, forKey: .message)
        }
    }

    /// `text` as a JSON string literal. NUL is dropped: PostgreSQL text cannot hold it.
    static func quote(_ text: String) -> String {
        var text = text
        return text.withUTF8 { bytes in
            // Most strings (ids, timestamps, types) need no escaping: copy them whole.
            if !bytes.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) {
                return "\"" + String(decoding: bytes, as: UTF8.self) + "\""
            }
            var out: [UInt8] = [UInt8(ascii: "\"")]
            out.reserveCapacity(bytes.count + 16)
            let hex = Array("0123456789abcdef".utf8)
            for byte in bytes {
                switch byte {
                case UInt8(ascii: "\""): out += [UInt8(ascii: "\\"), byte]
                case UInt8(ascii: "\\"): out += [UInt8(ascii: "\\"), byte]
                case UInt8(ascii: "\n"): out += [UInt8(ascii: "\\"), UInt8(ascii: "n")]
                case UInt8(ascii: "\r"): out += [UInt8(ascii: "\\"), UInt8(ascii: "r")]
                case UInt8(ascii: "\t"): out += [UInt8(ascii: "\\"), UInt8(ascii: "t")]
                case 0: continue
                case ..<0x20: out += Array("\\u00".utf8) + [hex[Int(byte >> 4)], hex[Int(byte & 0xF)]]
                default: out.append(byte)
                }
            }
            out.append(UInt8(ascii: "\""))
            return String(decoding: out, as: UTF8.self)
        }
    }

    private static func isSpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09
    }
}

/// Any JSON value; used to check an enqueued payload.
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
