/// What one answer (or failure to get one) from the app means, before the retry policy has
/// turned "try again" into a time. Pure: see `Verdict.classify`.
public enum Verdict: Sendable, Equatable {
    case success(result: String?)
    /// Worth another attempt: 408, 425, 429, 5xx, a timeout, a connection lost after sending.
    case transient(error: String, retryAfter: Double?)
    /// Will not get better by retrying: 400, 404, 410, 422, other 4xx, 3xx, a payload that is no object.
    case permanent(error: String)
    /// The app refused the token (401/403): nothing about this job is wrong.
    case tokenRejected(status: Int)
    /// The request never left (connection refused, DNS, TLS handshake): the job is not charged.
    case notSent(error: String)
}

/// What came back from a transport for one request.
public enum Exchange: Sendable, Equatable {
    case response(Response)
    case failure(TransportFailure)
}

public struct Response: Sendable, Equatable {
    public var status: Int
    public var body: [UInt8]
    /// The body was longer than the cap and was cut.
    public var truncated: Bool
    public var headers: ResponseHeaders

    public init(status: Int, body: [UInt8] = [], truncated: Bool = false, headers: ResponseHeaders = .init()) {
        self.status = status
        self.body = body
        self.truncated = truncated
        self.headers = headers
    }
}

/// The few response headers the engine reads.
public struct ResponseHeaders: Sendable, Equatable {
    public var retryAfter: String?
    public var date: String?
    public var location: String?

    public init(retryAfter: String? = nil, date: String? = nil, location: String? = nil) {
        self.retryAfter = retryAfter
        self.date = date
        self.location = location
    }
}

public enum TransportFailure: Error, Sendable, Equatable {
    /// Nothing of the request reached the app.
    case notSent(String)
    /// The request went out and no complete answer came within the timeout.
    case timedOut(String)
    /// The request went out and the connection broke, or the answer was not HTTP.
    case broken(String)
}

extension Verdict {
    /// Classifies an exchange per the contract's outcome table.
    /// `now` (Unix seconds) turns an HTTP-date Retry-After into a delay when the answer has no Date.
    public static func classify(_ exchange: Exchange, now: Double) -> Verdict {
        switch exchange {
        case .failure(.notSent(let message)):
            return .notSent(error: message)
        case .failure(.timedOut(let message)), .failure(.broken(let message)):
            return .transient(error: message, retryAfter: nil)
        case .response(let response):
            return classify(response, now: now)
        }
    }

    static func classify(_ response: Response, now: Double) -> Verdict {
        let status = response.status
        switch status {
        case 200..<300:
            // A cut body may still parse ("12345" cut to "123"): it is not the app's answer.
            let valid = !response.truncated && JSONText.isValid(response.body)
            return .success(result: valid ? String(decoding: response.body, as: UTF8.self) : nil)
        case 401, 403:
            return .tokenRejected(status: status)
        case 408, 425, 429, 500..<600:
            let retryAfter = response.headers.retryAfter.flatMap {
                RetryAfter.seconds($0, responseDate: response.headers.date, now: now)
            }
            return .transient(error: errorMessage(response), retryAfter: retryAfter)
        case 300..<400:
            // The Location is the app's (or anyone's) text: bounded like every message.
            let target = response.headers.location.map { " to \($0.prefix(maxLocationLength))" } ?? ""
            return .permanent(error: "HTTP \(status): redirect\(target) not followed for a POST; point the app URL at the final address")
        case 400..<500:
            return .permanent(error: errorMessage(response))
        default:
            return .transient(error: errorMessage(response), retryAfter: nil)
        }
    }

    /// The app's own words: its JSON `error` (or `error.message`, or `message`), else
    /// "HTTP <code>: <start of the body>".
    public static func errorMessage(_ response: Response) -> String {
        if let text = JSONText.errorField(response.body), !text.isEmpty {
            return String(text.prefix(maxErrorLength))
        }
        let start = String(decoding: response.body.prefix(200), as: UTF8.self)
            .map { $0.isNewline || $0 == "\t" ? " " : $0 }
        let body = String(start).trimmingCharacters(in: " ")
        return body.isEmpty ? "HTTP \(response.status)" : "HTTP \(response.status): \(body)"
    }

    /// Long enough for any real message, short enough to keep rows and logs readable.
    static let maxErrorLength = 2000
    static let maxLocationLength = 1000

    /// The answers that ask to slow down rather than blame the job: 429, 503, and a reverse
    /// proxy's 502 and 504 (the app is down or stuck behind it). The route is paused for them.
    public static func pausesRoute(status: Int) -> Bool {
        status == 429 || status == 502 || status == 503 || status == 504
    }
}

extension String {
    func trimmingCharacters(in set: Character) -> String {
        var slice = Substring(self)
        while slice.first == set { slice.removeFirst() }
        while slice.last == set { slice.removeLast() }
        return String(slice)
    }
}
