import Foundation
import XCTest

/// The stand-in app (scripts/testapp.py) on a free loopback port, with its control API.
final class TestApp {
    let child: Child
    let port: Int
    let token: String
    var url: String { "http://127.0.0.1:\(port)" }

    init(token: String = "test-token", databaseURL: String? = nil, arguments: [String] = []) throws {
        let portFile = NSTemporaryDirectory() + "pj-app-\(UUID().uuidString).port"
        var args = [Paths.script("testapp.py"), "--port", "0", "--port-file", portFile, "--token", token]
        if let databaseURL { args += ["--database-url", databaseURL] }
        let child = try Child("/usr/bin/env", ["python3"] + args + arguments, environment: ProcessInfo.processInfo.environment)
        self.child = child
        self.token = token
        var port = 0
        awaitCondition("the test app to listen", timeout: 30) {
            port = Int((try? String(contentsOfFile: portFile, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "") ?? 0
            return port > 0 || !child.isRunning
        }
        try? FileManager.default.removeItem(atPath: portFile)
        guard port > 0 else { throw TestAppError(message: "test app did not start: \(child.stderr)") }
        self.port = port
    }

    deinit { stop() }

    /// Stops the app and removes its output files.
    func stop() {
        if child.isRunning {
            child.signal(SIGTERM)
            _ = child.wait(timeout: 10)
        }
        child.cleanUp()
    }

    /// Replaces the fault rules (see scripts/testapp.py): `[{"match": {...}, "times": n, "action": {...}}]`.
    func setRules(_ rules: String) throws { try control("POST", "/_control/rules", body: rules) }

    func configure(_ config: String) throws { try control("POST", "/_control/config", body: config) }

    func reset() throws { try control("POST", "/_control/reset", body: "{}") }

    /// Every request the app received, in order.
    func requests() throws -> [AppRequest] {
        let data = try control("GET", "/_control/log", body: nil)
        return try JSONDecoder().decode([AppRequest].self, from: data)
    }

    /// Requests to the job routes for one job id.
    func requests(forJob id: String) throws -> [AppRequest] {
        try requests().filter { $0.jobId == id }
    }

    /// Runs the reference Standard Webhooks verifier (PyPI standardwebhooks) in the app on a
    /// request, as given or with fields altered: nil when it verifies, else the verifier's error.
    func verificationError(secret: String, body: String, headers: [String: String]) throws -> String? {
        let payload = try JSONSerialization.data(withJSONObject: ["secret": secret, "body": body, "headers": headers])
        let answer = try control("POST", "/_control/verify", body: String(decoding: payload, as: UTF8.self))
        let verdict = try JSONSerialization.jsonObject(with: answer) as? [String: Any] ?? [:]
        if verdict["valid"] as? Bool == true { return nil }
        return verdict["error"] as? String ?? "no verdict: \(String(decoding: answer, as: UTF8.self))"
    }

    @discardableResult
    private func control(_ method: String, _ path: String, body: String?) throws -> Data {
        var arguments = ["-sS", "--fail-with-body", "-X", method, url + path]
        if body != nil { arguments += ["-H", "Content-Type: application/json", "--data-binary", "@-"] }
        let result = try shell("/usr/bin/env", ["curl"] + arguments, stdin: body ?? "", timeout: 30)
        guard result.status == 0 else { throw TestAppError(message: "control \(path) failed: \(result.stdout) \(result.stderr)") }
        return Data(result.stdout.utf8)
    }
}

struct TestAppError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}

/// One logged request (see scripts/testapp.py).
struct AppRequest: Decodable {
    let seq: Int
    let time: Double
    let path: String
    let method: String
    let headers: [String: String]
    let body: String
    /// The body's length as received ("body" may be cut: testapp.py --log-body-max).
    let bodyBytes: Int?
    let jobId: String?
    let jobType: String?
    let attempt: Int?
    let idempotencyKey: String?
    let action: String
    let status: Int?
    /// null, "chaos" or "rule:<index>": what injected the answer.
    let fault: String?
    /// The delay the app slept before answering.
    let delayMs: Double?
    /// With a secret to verify with: "valid" or "invalid: <the reference verifier's error>".
    let signature: String?

    var json: [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any] ?? [:]
    }
}
