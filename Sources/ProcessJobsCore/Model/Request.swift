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
    /// Job ids are uuids and types are checked printable ASCII, so no header can be split.
    public static func forJob(_ job: ClaimedJob, body: String, url: String, token: String?) -> Request {
        Request(url: url, headers: [
            "Content-Type: application/json",
            token.map { "Authorization: Bearer \($0)" },
            "Idempotency-Key: \(job.id)",
            "X-Job-Id: \(job.id)",
            "X-Job-Type: \(job.type)",
            "X-Job-Attempt: \(job.attempt)",
            "User-Agent: process-jobs/\(Version.current)",
        ].compactMap { $0 }, body: body)
    }
}

public enum Version {
    public static let current = "1.0.0"
}
