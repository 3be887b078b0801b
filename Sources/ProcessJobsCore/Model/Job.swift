/// A job this run holds a lease on, as the claim returned it.
public struct ClaimedJob: Sendable, Equatable {
    public let id: String
    public let type: String
    /// Retries granted so far (0 on the first attempt; never negative).
    public let retryCount: Int
    public let maxRetries: Int
    /// `processed_at` set by the claim: with `locked_by` it fences every later write to this row.
    public let claimedAt: String
    /// `processed_at` before the claim, restored when the job is released untouched.
    public let previousProcessedAt: String?
    /// The request body (payload with `userId`); nil when the payload is not a JSON object, when
    /// the body is over --max-payload, or when it was too big to come with the claim (read it
    /// with `JobStore.body(of:)`), and once the request is out (the transport holds the only copy).
    public let body: String?
    /// jsonb_typeof(payload): "object", "array", "string", ...; "missing" for SQL NULL.
    public let payloadType: String
    /// Bytes of the body as the database measured it (0 when the payload is not an object).
    public let bodySize: Int

    public init(id: String, type: String, retryCount: Int, maxRetries: Int, claimedAt: String,
                previousProcessedAt: String?, body: String?, payloadType: String, bodySize: Int = 0) {
        self.id = id
        self.type = type
        self.retryCount = max(0, retryCount)
        self.maxRetries = maxRetries
        self.claimedAt = claimedAt
        self.previousProcessedAt = previousProcessedAt
        self.body = body
        self.payloadType = payloadType
        self.bodySize = bodySize
    }

    /// The attempt this request is, counting from 1.
    public var attempt: Int { retryCount + 1 }

    /// The same job with `body` (nil: dropped, so that only the request in flight holds it).
    public func with(body: String?) -> ClaimedJob {
        ClaimedJob(id: id, type: type, retryCount: retryCount, maxRetries: maxRetries, claimedAt: claimedAt,
                   previousProcessedAt: previousProcessedAt, body: body, payloadType: payloadType, bodySize: bodySize)
    }

    /// Why this job cannot be sent at all, or nil: its payload is not an object, or its body is
    /// over `maxPayload` bytes.
    public func unsendable(maxPayload: Int) -> String? {
        guard payloadType == "object" else {
            let kind = switch payloadType {
            case "missing": "SQL NULL"
            case "null": "JSON null"
            default: "a JSON \(payloadType)"
            }
            return "payload is not a JSON object (it is \(kind)): the app expects an object"
        }
        guard bodySize <= maxPayload else {
            return "request body of \(bodySize) bytes (\(SizeText.format(bodySize))) is over --max-payload \(SizeText.format(maxPayload)): not sent; make the payload smaller or raise --max-payload"
        }
        return nil
    }
}
