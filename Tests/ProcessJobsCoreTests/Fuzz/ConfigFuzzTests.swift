import XCTest
@testable import ProcessJobsCore

/// Flags and environment: the app URL, routes, the token and the run flags together. Nothing an
/// operator types may trap; what is accepted is within the documented bounds; no secret is echoed.
final class ConfigFuzzTests: XCTestCase {
    static let secret = "Sup3rSecretPw"
    static let urlWords = ["https://", "http://", "HTTPS://", "ftp://", "://", "app.example.com", "localhost", "127.0.0.1", "127.1",
                           "[::1]", "[", "]", ":", ":443", ":0", ":65535", ":65536", ":99999999999999999999", "/", "/api", "//", "?", "#",
                           "@", "user:\(secret)@", "%", "%ZZ", ".localhost", "xn--bcher-kva.example"]

    func testAppURLs() {
        let fixed = ["user:\(Self.secret)@app.example.com", "https://user:\(Self.secret)@app.example.com", "https://[::1", "https://[::1]:99999",
                     "https://h:-1", "https://h:+443", "https://:443", "http://127.0.0.1.", "http://127.0.0.256"]
        Fuzz.run(self, "AppURL", fixed: fixed, generate: { hostile in
            hostile.chance(60) ? hostile.text(Self.urlWords, maxPieces: 7) : hostile.mutate("https://app.example.com:8443/prefix/", Self.urlWords)
        }) { text in
            let insecure = text.utf8.count % 2 == 0
            do {
                let url = try AppURL(text, allowInsecureHTTP: insecure)
                XCTAssertTrue(url.scheme == "http" || url.scheme == "https", text)
                XCTAssertFalse(url.host.isEmpty, text)
                XCTAssertEqual(try? AppURL(url.description, allowInsecureHTTP: insecure), url, "\(text) -> \(url.description)")
                XCTAssertTrue(url.resolve("/api/x").hasPrefix(url.description + "/"))
            } catch {
                XCTAssertFalse("\(error)".contains(Self.secret), "the password is printed: \(error)")
            }
        }
    }

    func testRoutes() {
        let words = ["generate-image", "=", "/api/x", "https://n8n.example.com/hook", "http://", "TYPE", " ", "\n", "é", ""]
        Fuzz.run(self, "Routes", fixed: ["=", "==", "a=", "=/x", String(repeating: "t", count: 201) + "=/x"], generate: { hostile in
            hostile.text(words, maxPieces: 5)
        }) { text in
            guard let routes = try? Routes(overrides: [text]) else { return }
            for (type, target) in routes.table {
                XCTAssertNotNil(try? Routes.checkType(type), text)
                XCTAssertTrue(target.hasPrefix("/") || target.hasPrefix("http://") || target.hasPrefix("https://"), text)
                XCTAssertFalse(target.contains(where: \.isWhitespace), text)
            }
        }
    }

    func testTokensArePrintableAndNeverEchoed() {
        let words = [Self.secret, "eyJhbGciOiJIUzI1NiJ9", ".", "\n", "\r\n", " ", "\t", "\0", "é", "\u{7F}"]
        Fuzz.run(self, "Token.check", fixed: ["", "\n", "\r\n", "\n\n", Self.secret + "\n", Self.secret + " ", Self.secret + "\u{7F}"],
                 generate: { hostile in hostile.chance(70) ? hostile.text(words, maxPieces: 4) : hostile.byteString() }) { raw in
            do {
                let token = try Token.check(raw, source: "fuzz")
                XCTAssertFalse(token.value.isEmpty)
                XCTAssertTrue(token.value.unicodeScalars.allSatisfy { $0.value > 0x20 && $0.value < 0x7F }, raw.debugDescription)
                XCTAssertTrue(raw == token.value || raw == token.value + "\n" || raw == token.value + "\r\n", raw.debugDescription)
                XCTAssertFalse(token.value.count > 5 && token.description.contains(token.value))
            } catch {
                XCTAssertFalse(raw.count > 3 && "\(error)".contains(raw), "the key is printed: \(error)")
            }
        }
    }

    func testRunFlagsResolveWithinBounds() {
        let durations = ["30s", "0", "1ms", "3650d", "3651d", "-1", "1e9", "nan", ".", "120", "0.0001"] + Hostile.boundaryIntegers
        let integers = [Int.min, -1, 0, 1, 50, 1024, 1025, 10_000, 10_001, Int.max]
        Fuzz.run(self, "RunConfiguration.resolve", fixed: [RunFlags()], bytes: { Array("\($0)".utf8) }, generate: { hostile in
            var flags = RunFlags()
            func maybe(_ words: [String]) -> String? {
                hostile.chance(40) ? (hostile.chance(80) ? hostile.pick(words) : hostile.mutate(hostile.pick(words), words)) : nil
            }
            if hostile.chance(40) { flags.batchSize = hostile.pick(integers) }
            if hostile.chance(40) { flags.concurrency = hostile.pick(integers) }
            flags.requestTimeout = maybe(durations)
            flags.lease = maybe(durations)
            flags.maxRuntime = maybe(durations)
            flags.grace = maybe(durations)
            flags.backoffBase = maybe(durations)
            flags.backoffMax = maybe(durations)
            flags.appURL = maybe(["https://app.example.com", "http://127.0.0.1:3000", "http://app.example.com", "user:\(Self.secret)@h"])
            flags.allowInsecureHTTP = hostile.chance(30)
            if hostile.chance(20) { flags.routes = [hostile.text(["generate-image", "=", "/x", "t"], maxPieces: 3)] }
            if hostile.chance(20) { flags.jobTypes = [hostile.pick(["generate-image", "x", ""])] }
            if hostile.chance(20) { flags.routeConcurrency = [hostile.text(["generate-image", "=", "4", "0", "-1"] + Hostile.boundaryIntegers, maxPieces: 3)] }
            return flags
        }) { flags in
            let environment = ["APP_URL": "http://127.0.0.1:3000"]
            guard let configuration = try? RunConfiguration.resolve(flags, environment: environment) else { return }
            let settings = configuration.settings
            XCTAssertTrue((1...10_000).contains(settings.batchSize))
            XCTAssertTrue((1...1024).contains(settings.concurrency))
            for value in [settings.requestTimeout, settings.grace, settings.retry.base, settings.retry.cap, settings.maxRuntime ?? 1] {
                XCTAssertTrue(value.isFinite && value > 0 && value <= DurationText.maximum, "\(flags)")
            }
            // The default lease is derived: twice the request timeout and a minute.
            XCTAssertLessThanOrEqual(settings.lease, 2 * DurationText.maximum + 60)
            XCTAssertGreaterThanOrEqual(settings.lease, 2 * settings.requestTimeout)
            XCTAssertTrue(settings.routeConcurrency.values.allSatisfy { $0 >= 1 })
        }
    }
}
