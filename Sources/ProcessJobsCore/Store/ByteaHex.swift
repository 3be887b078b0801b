/// PostgreSQL's text form of bytea (`\x` then two hex digits per byte), decoded straight into a
/// buffer, so a big body is built without an intermediate copy.
enum ByteaHex {
    /// Writes the bytes of `text` into `buffer` from `offset`; returns how many, or nil when the
    /// text is not bytea hex or does not fit.
    static func decode(_ text: String, into buffer: UnsafeMutableBufferPointer<UInt8>, at offset: Int) -> Int? {
        var text = text
        return text.withUTF8 { utf8 -> Int? in
            guard utf8.count >= 2, utf8[0] == UInt8(ascii: "\\"), utf8[1] == UInt8(ascii: "x"), utf8.count % 2 == 0 else { return nil }
            let count = (utf8.count - 2) / 2
            guard offset >= 0, count <= buffer.count - offset else { return nil }
            var index = 2
            for position in offset..<(offset + count) {
                guard let high = nibble(utf8[index]), let low = nibble(utf8[index + 1]) else { return nil }
                buffer[position] = high << 4 | low
                index += 2
            }
            return count
        }
    }

    private static func nibble(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
