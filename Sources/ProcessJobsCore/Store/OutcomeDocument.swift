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
    static func encode(_ outcomes: [PendingOutcome]) -> String {
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
                out += ",\"error\":\(JSONText.quote(error))"
            case .release(let delay):
                if let delay { out += ",\"delay\":\(number(delay))" }
            }
            out += "}"
        }
        return out + "]"
    }

    /// Milliseconds are plenty, and a fixed form keeps exponents out of the JSON.
    private static func number(_ seconds: Double) -> String {
        let millis = Int((max(0, seconds) * 1000).rounded())
        return "\(millis / 1000).\(String(repeating: "0", count: 3 - String(millis % 1000).count))\(millis % 1000)"
    }
}
