/// An attempt's outcome waiting to be written.
public struct PendingOutcome: Sendable {
    public let job: ClaimedJob
    public let outcome: Outcome
    /// For the log line: the HTTP status (nil when no answer) and the request's duration.
    public let httpStatus: Int?
    public let seconds: Double?

    public init(job: ClaimedJob, outcome: Outcome, httpStatus: Int? = nil, seconds: Double? = nil) {
        self.job = job
        self.outcome = outcome
        self.httpStatus = httpStatus
        self.seconds = seconds
    }
}

/// Outcomes as the jsonb array the tick statement reads with jsonb_to_recordset: one parameter
/// for any number of rows, with JSON's escaping instead of SQL's.
enum OutcomeDocument {
    static func encode(_ outcomes: [PendingOutcome], serverEncoding: String = "UTF8") -> String {
        var out = "["
        for (index, pending) in outcomes.enumerated() {
            if index > 0 { out += "," }
            let job = pending.job
            out += "{\"id\":\(JSONText.quote(job.id)),\"claimed_at\":\(JSONText.quote(job.claimedAt))"
            out += ",\"action\":\"\(pending.outcome.action)\""
            out += ",\"previous_processed_at\":\(job.previousProcessedAt.map(JSONText.quote) ?? "null")"
            switch pending.outcome {
            case .complete(let result):
                // Already checked to be JSON that jsonb accepts: embedded as a value, not a string.
                out += ",\"result\":\(result ?? "null")"
            case .retry(let error, let delay):
                out += ",\"error\":\(JSONText.quote(error)),\"delay\":\(number(delay))"
            case .fail(let error):
                // A failure decided before sending (bad payload, over --max-payload) has no
                // request time: the failure job's "attempts" does not count it.
                out += ",\"error\":\(JSONText.quote(error)),\"sent\":\(pending.seconds != nil)"
            case .release(let delay):
                if let delay { out += ",\"delay\":\(number(delay))" }
            }
            out += "}"
        }
        return fitted(out + "]", serverEncoding: serverEncoding)
    }

    /// `json` with every character the server's encoding cannot hold (raw, or as a \u escape,
    /// which jsonb would have to convert) written as the text `\u{hex}` instead: still valid
    /// JSON, and jsonb accepts it in any encoding. UTF8 holds everything; LATIN1 holds U+0000 to
    /// U+00FF; for any other encoding only ASCII is certain.
    static func fitted(_ json: String, serverEncoding: String) -> String {
        let limit: UInt32
        switch serverEncoding.uppercased() {
        case "UTF8", "UNICODE": return json
        case "LATIN1": limit = 0x100
        default: limit = 0x80
        }
        let scalars = Array(json.unicodeScalars)
        guard scalars.contains(where: { $0.value >= 0x80 || $0 == "\\" }) else { return json }
        var out = String.UnicodeScalarView()
        var index = 0
        var inString = false
        func escaped(_ value: UInt32) {
            out.append(contentsOf: "\\\\u{\(String(value, radix: 16))}".unicodeScalars)
        }
        func hex(at position: Int) -> UInt32? {
            guard position + 4 <= scalars.count else { return nil }
            return UInt32(String(String.UnicodeScalarView(scalars[position..<position + 4])), radix: 16)
        }
        while index < scalars.count {
            let scalar = scalars[index]
            if !inString {
                if scalar == "\"" { inString = true }
                out.append(scalar)
                index += 1
            } else if scalar == "\"" {
                inString = false
                out.append(scalar)
                index += 1
            } else if scalar == "\\", index + 1 < scalars.count {
                guard scalars[index + 1] == "u", var value = hex(at: index + 2) else {
                    out.append(contentsOf: scalars[index...index + 1])
                    index += 2
                    continue
                }
                var length = 6
                // A surrogate pair stands for one character beyond the BMP.
                if (0xD800..<0xDC00).contains(value), index + 12 <= scalars.count,
                   scalars[index + 6] == "\\", scalars[index + 7] == "u",
                   let low = hex(at: index + 8), (0xDC00..<0xE000).contains(low) {
                    value = 0x10000 + ((value - 0xD800) << 10) + (low - 0xDC00)
                    length = 12
                }
                if value < limit {
                    out.append(contentsOf: scalars[index..<index + length])
                } else {
                    escaped(value)
                }
                index += length
            } else {
                if scalar.value < limit { out.append(scalar) } else { escaped(scalar.value) }
                index += 1
            }
        }
        return String(out)
    }

    /// Milliseconds are plenty, and a fixed form keeps exponents out of the JSON.
    private static func number(_ seconds: Double) -> String {
        let millis = Int((max(0, seconds) * 1000).rounded())
        return "\(millis / 1000).\(String(repeating: "0", count: 3 - String(millis % 1000).count))\(millis % 1000)"
    }
}
