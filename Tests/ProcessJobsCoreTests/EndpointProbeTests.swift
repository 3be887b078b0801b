import XCTest
@testable import ProcessJobsCore

final class EndpointProbeTests: XCTestCase {
    private func response(_ status: Int, _ body: String = "", location: String? = nil) -> Exchange {
        .response(Response(status: status, body: Array(body.utf8), headers: ResponseHeaders(location: location)))
    }

    func testClassify() {
        XCTAssertEqual(EndpointProbe.classify(response(400, #"{"error":"Missing required fields"}"#)), .accepted(status: 400))
        XCTAssertEqual(EndpointProbe.classify(response(422)), .accepted(status: 422))
        XCTAssertEqual(EndpointProbe.classify(response(401)), .tokenRejected(status: 401))
        XCTAssertEqual(EndpointProbe.classify(response(403)), .tokenRejected(status: 403))
        XCTAssertEqual(EndpointProbe.classify(response(404, #"{"error":"Not found"}"#)), .wrongURL(status: 404, detail: "Not found"))
        XCTAssertEqual(EndpointProbe.classify(response(405)), .wrongURL(status: 405, detail: "HTTP 405"))
        XCTAssertEqual(EndpointProbe.classify(response(308, location: "https://x/api")), .wrongURL(status: 308, detail: "redirect to https://x/api"))
        XCTAssertEqual(EndpointProbe.classify(response(200, "{}")), .unexpected(status: 200, detail: "HTTP 200: {}"))
        XCTAssertEqual(EndpointProbe.classify(response(500, #"{"error":"boom"}"#)), .unexpected(status: 500, detail: "boom"))
        XCTAssertEqual(EndpointProbe.classify(.failure(.notSent("refused"))), .unreachable("refused"))
        XCTAssertEqual(EndpointProbe.classify(.failure(.timedOut("slow"))), .unreachable("slow"))
    }

    func testExitCodes() {
        XCTAssertEqual(EndpointProbe.Result.accepted(status: 400).exitCode, 0)
        XCTAssertEqual(EndpointProbe.Result.tokenRejected(status: 401).exitCode, 77)
        XCTAssertEqual(EndpointProbe.Result.wrongURL(status: 404, detail: "").exitCode, 78)
        XCTAssertEqual(EndpointProbe.Result.unexpected(status: 500, detail: "").exitCode, 69)
        XCTAssertEqual(EndpointProbe.Result.unreachable("x").exitCode, 69)
    }

    func testRequestIsAnEmptyObjectWithTheTokenAndNoJobHeaders() {
        let request = EndpointProbe.request(url: "http://127.0.0.1/api/process-image", token: "t0k")
        XCTAssertEqual(request.body, "{}")
        XCTAssertTrue(request.headers.contains("Authorization: Bearer t0k"))
        XCTAssertTrue(request.headers.contains("Content-Type: application/json"))
        XCTAssertFalse(request.headers.contains { $0.hasPrefix("X-Job-") || $0.hasPrefix("Idempotency-Key") })
    }

    /// A route at another origin without a token of its own is probed without Authorization.
    func testRequestWithoutTokenHasNoAuthorization() {
        let request = EndpointProbe.request(url: "https://hooks.example/x", token: nil)
        XCTAssertFalse(request.headers.contains { $0.lowercased().hasPrefix("authorization") }, "\(request.headers)")
    }

    /// With a secret (and --no-bearer-token) the probe is a signed empty body with no Authorization.
    func testSignedProbe() throws {
        let secret = try SigningSecret.parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", source: "test")
        let request = EndpointProbe.request(url: "https://a.b/x", token: nil, signing: secret, now: 1_700_000_000)
        XCTAssertFalse(request.headers.contains { $0.lowercased().hasPrefix("authorization") })
        let id = try XCTUnwrap(request.headers.first { $0.hasPrefix("webhook-id: check-") }?.dropFirst("webhook-id: ".count))
        XCTAssertTrue(request.headers.contains("webhook-timestamp: 1700000000"))
        XCTAssertTrue(request.headers.contains("webhook-signature: \(secret.signature(id: String(id), timestamp: 1_700_000_000, body: "{}"))"))
    }

    /// With --no-bearer-token the line speaks of the signature, never of a key that was not sent.
    func testSignedOnlyDetailNamesTheSignature() {
        XCTAssertEqual(EndpointProbe.Result.accepted(status: 400).detail(signedOnly: true), "signature accepted (an empty body got HTTP 400)")
        let refused = EndpointProbe.Result.tokenRejected(status: 401).detail(signedOnly: true)
        XCTAssertTrue(refused.contains("rejected the signature"), refused)
        XCTAssertFalse(refused.contains("SUPABASE_SERVICE_ROLE_KEY"), refused)
        XCTAssertEqual(EndpointProbe.Result.accepted(status: 400).detail, "token accepted (an empty body got HTTP 400)")
    }

    /// A certificate problem points at CURL_CA_BUNDLE, not at starting the app.
    func testUnreachableDetailFitsTheFailure() {
        let tls = EndpointProbe.Result.unreachable("request not sent: SSL certificate problem: unable to get local issuer certificate (curl 60)")
        XCTAssertTrue(tls.detail.contains("CURL_CA_BUNDLE"), tls.detail)
        let refused = EndpointProbe.Result.unreachable("request not sent: Failed to connect to 127.0.0.1 port 9 (curl 7)")
        XCTAssertTrue(refused.detail.hasSuffix("start the app or fix the app URL"), refused.detail)
    }

    func testDetailNeverCarriesTheToken() {
        for result in [EndpointProbe.Result.accepted(status: 400), .tokenRejected(status: 401), .unreachable("x")] {
            XCTAssertFalse(result.detail.contains("t0k"))
        }
    }

    /// A transport that answers from a script, to test the probe's loop (not HTTP).
    private final class ScriptedTransport: Transport {
        var answers: [String: Exchange]
        var started: [(Request, Int)] = []
        /// Every request started, kept after an abort.
        var sent: [Request] = []
        var aborted = false

        init(_ answers: [String: Exchange]) { self.answers = answers }

        func start(_ request: Request, tag: Int) {
            started.append((request, tag))
            sent.append(request)
        }

        func wait(timeout: Double, watching descriptor: Int32?) -> [Completion] {
            let ready = started.filter { answers[$0.0.url] != nil }
            started.removeAll { answers[$0.0.url] != nil }
            return ready.map { Completion(tag: $0.1, exchange: answers[$0.0.url]!, seconds: 0.01) }
        }

        func abortAll() -> [Int] {
            aborted = true
            defer { started = [] }
            return started.map(\.1)
        }
    }

    func testProbeKeepsTargetOrderAndTimesOutSilentOnes() {
        let transport = ScriptedTransport(["http://a/1": response(400), "http://a/2": response(401)])
        let results = EndpointProbe.probe(
            [.init(type: "x", url: "http://a/2"), .init(type: "y", url: "http://a/1"), .init(type: "z", url: "http://a/3")],
            token: { $0.type == "y" ? nil : "t" }, transport: transport, timeout: 0.05)
        XCTAssertEqual(results[0], .tokenRejected(status: 401))
        XCTAssertEqual(results[1], .accepted(status: 400))
        guard case .unreachable(let message) = results[2] else { return XCTFail("\(results[2])") }
        XCTAssertTrue(message.contains("no answer within"), message)
        XCTAssertTrue(transport.aborted)
    }

    func testProbeSendsEachTargetItsOwnToken() {
        let transport = ScriptedTransport([:])
        _ = EndpointProbe.probe([.init(type: "x", url: "http://a/1"), .init(type: "y", url: "http://b/1")],
                                token: { $0.type == "y" ? nil : "t" }, transport: transport, timeout: 0.01)
        let sent = Dictionary(uniqueKeysWithValues: transport.sent.map { ($0.url, $0.headers) })
        XCTAssertTrue(sent["http://a/1"]?.contains("Authorization: Bearer t") ?? false)
        XCTAssertFalse(sent["http://b/1"]?.contains { $0.hasPrefix("Authorization") } ?? true)
    }
}
