/// `check`'s test of one route: POST an empty JSON object with the token. The app must refuse
/// the input (400, or 422) — which proves the endpoint exists and accepted the token, with no side
/// effect — rather than the token (401/403). Goes through the engine's Transport, as jobs do.
public enum EndpointProbe {
    public struct Target: Sendable, Equatable {
        public var type: String
        public var url: String

        public init(type: String, url: String) {
            self.type = type
            self.url = url
        }
    }

    public enum Result: Sendable, Equatable {
        /// 400/422: the token was accepted and the empty body refused, as it should be.
        case accepted(status: Int)
        /// 401/403: the app refused the token.
        case tokenRejected(status: Int)
        /// 404, 405, 410 or a redirect: nothing to POST to at that URL.
        case wrongURL(status: Int, detail: String)
        /// Any other answer: 2xx (the app took an empty body), 5xx, ...
        case unexpected(status: Int, detail: String)
        /// No answer: refused, DNS, TLS, timeout, connection lost.
        case unreachable(String)

        /// The contract's exit code for this result (0 when it passes).
        public var exitCode: Int32 {
            switch self {
            case .accepted: 0
            case .tokenRejected: 77
            case .wrongURL: 78
            case .unexpected, .unreachable: 69
            }
        }

        /// What the check line says after the URL.
        public var detail: String { detail(signedOnly: false) }

        /// `signedOnly` (--no-bearer-token): the signature, not a token, is what the app accepted or refused.
        public func detail(signedOnly: Bool) -> String {
            switch self {
            case .accepted(let status) where signedOnly:
                "signature accepted (an empty body got HTTP \(status))"
            case .accepted(let status):
                "token accepted (an empty body got HTTP \(status))"
            case .tokenRejected(let status) where signedOnly:
                "HTTP \(status): the app rejected the signature; give the app the secret process-jobs signs with (docs/signing.md)"
            case .tokenRejected(let status):
                "HTTP \(status): the app rejected the service-role key; set SUPABASE_SERVICE_ROLE_KEY (or --token-file) to the key the app expects"
            case .wrongURL(let status, let detail):
                "HTTP \(status) (\(detail)): no job endpoint at this URL; fix the app URL or --route"
            case .unexpected(let status, let detail) where (200..<300).contains(status):
                "HTTP \(status) (\(detail)): the app accepted an empty body; it should answer 400 to a request without the job's fields"
            case .unexpected(let status, let detail):
                "HTTP \(status) (\(detail)): expected 400 for an empty body; see the app's logs"
            case .unreachable(let error):
                "unreachable: \(error); \(UnreachableAdvice.advice(for: error))"
            }
        }
    }

    /// The probe request: the job request's headers, minus the job's (there is no job); no
    /// Authorization without a token, as for the route's jobs (see `Credentials`). Signed like a
    /// job when there is a secret, with a fresh id, so an app that checks only signatures is probed too.
    public static func request(url: String, token: String?, signing: SigningSecret? = nil, now: Int = 0) -> Request {
        var headers = [
            "Content-Type: application/json",
            token.map { "Authorization: Bearer \($0)" },
            "User-Agent: process-jobs/\(Version.current) (check)",
        ].compactMap { $0 }
        if let signing {
            headers += Request.signed(id: "check-" + String(UInt64.random(in: 1...UInt64.max), radix: 16),
                                      body: "{}", signing: signing, now: now)
        }
        return Request(url: url, headers: headers, body: "{}")
    }

    public static func classify(_ exchange: Exchange) -> Result {
        switch exchange {
        case .failure(.notSent(let message)), .failure(.timedOut(let message)), .failure(.broken(let message)):
            return .unreachable(message)
        case .response(let response):
            let status = response.status
            switch status {
            case 400, 422:
                return .accepted(status: status)
            case 401, 403:
                return .tokenRejected(status: status)
            case 404, 405, 410:
                return .wrongURL(status: status, detail: StatusReport.oneLine(Verdict.errorMessage(response), limit: 120))
            case 300..<400:
                let target = response.headers.location.map { "redirect to \($0)" } ?? "redirect"
                return .wrongURL(status: status, detail: target)
            default:
                return .unexpected(status: status, detail: StatusReport.oneLine(Verdict.errorMessage(response), limit: 120))
            }
        }
    }

    /// Probes every target at once; results in the targets' order. `timeout` bounds the whole
    /// probe (the transport has its own per-request timeout too).
    public static func probe(_ targets: [Target], token: (Target) -> String?, signing: SigningSecret? = nil,
                             transport: any Transport, timeout: Double) -> [Result] {
        for (tag, target) in targets.enumerated() {
            transport.start(request(url: target.url, token: token(target), signing: signing, now: Int(WallClock.now())), tag: tag)
        }
        var results: [Int: Result] = [:]
        let clock = MonotonicClock()
        let deadline = clock.now() + timeout
        while results.count < targets.count {
            let left = deadline - clock.now()
            if left <= 0 {
                for tag in transport.abortAll() {
                    results[tag] = .unreachable("no answer within \(DurationText.format(timeout))")
                }
                break
            }
            for completion in transport.wait(timeout: min(left, 1)) {
                results[completion.tag] = classify(completion.exchange)
            }
        }
        return targets.indices.map { results[$0] ?? .unreachable("no answer") }
    }
}
