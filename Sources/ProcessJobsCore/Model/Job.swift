/// A job this run holds a lease on, as the claim returned it.
public struct ClaimedJob: Sendable, Equatable {
    public let id: String
    public let type: String
    /// Failed attempts so far (before this one).
    public let retryCount: Int
    public let maxRetries: Int
    /// `processed_at` set by the claim: with `locked_by` it fences every later write to this row.
    public let claimedAt: String
    /// `processed_at` before the claim, restored when the job is released untouched.
    public let previousProcessedAt: String?
    /// The request body (payload with `userId`), or nil when the payload is not a JSON object.
    public let body: String?
    /// jsonb_typeof(payload): "object", "array", "string", ...
    public let payloadType: String

    public init(id: String, type: String, retryCount: Int, maxRetries: Int, claimedAt: String,
                previousProcessedAt: String?, body: String?, payloadType: String) {
        self.id = id
        self.type = type
        self.retryCount = retryCount
        self.maxRetries = maxRetries
        self.claimedAt = claimedAt
        self.previousProcessedAt = previousProcessedAt
        self.body = body
        self.payloadType = payloadType
    }

    /// The attempt this request is, counting from 1.
    public var attempt: Int { retryCount + 1 }
}
