/// One POST to the app, as the transport sends it.
public struct Request: Sendable, Equatable {
    public var url: String
    /// "Name: value" lines.
    public var headers: [String]
    public var body: String

    public init(url: String, headers: [String], body: String) {
        self.url = url
        self.headers = headers
        self.body = body
    }

    /// The contract's request for `job`: its body, and the six headers plus User-Agent; no
    /// Authorization header without a token (a route at another origin, see `Credentials`).
    /// Then `traceparent` (this attempt's span in the job's trace) and, with a signing secret, the
    /// Standard Webhooks headers: webhook-id is the job id (the same on every attempt, so the app
    /// can deduplicate) and webhook-timestamp is `now`, the second the request starts.
    /// Job ids are uuids and types are checked printable ASCII, so no header can be split.
    public static func forJob(_ job: ClaimedJob, body: String, url: String, token: String?,
                              trace: TraceContext, signing: SigningSecret?, now: Int) -> Request {
        var headers = [
            "Content-Type: application/json",
            token.map { "Authorization: Bearer \($0)" },
            "Idempotency-Key: \(job.id)",
            "X-Job-Id: \(job.id)",
            "X-Job-Type: \(job.type)",
            "X-Job-Attempt: \(job.attempt)",
            "User-Agent: process-jobs/\(Version.current)",
            "traceparent: \(trace.traceparent)",
        ].compactMap { $0 }
        if let signing {
            headers += signed(id: job.id, body: body, signing: signing, now: now)
        }
        return Request(url: url, headers: headers, body: body)
    }

    /// The three Standard Webhooks headers for a body sent at `now` (Unix seconds).
    static func signed(id: String, body: String, signing: SigningSecret, now: Int) -> [String] {
        [
            "webhook-id: \(id)",
            "webhook-timestamp: \(now)",
            "webhook-signature: \(signing.signature(id: id, timestamp: now, body: body))",
        ]
    }
}

public enum Version {
    public static let current = "1.0.0"
}
