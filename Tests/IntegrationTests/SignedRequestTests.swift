import Foundation
import PostgresClient
import XCTest

/// Signed requests (Standard Webhooks), checked by the reference verifier (PyPI standardwebhooks)
/// inside the test app: every request verifies with each secret of a rotation set, and not once
/// its body, id or timestamp is altered; no secret shows in logs, errors, argv or metrics.
final class SignedRequestTests: IntegrationTestCase {
    private func newSecret() -> String {
        "whsec_" + Data((0..<32).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
    }

    private func secretFile(_ content: String) throws -> String {
        let path = NSTemporaryDirectory() + "pj-signing-\(UUID().uuidString)"
        try content.write(toFile: path, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
        return path
    }

    /// The secrets' base64 parts, which is what a leak would show.
    private func assertNoSecret(_ secrets: [String], in texts: [String: String], file: StaticString = #filePath, line: UInt = #line) {
        for secret in secrets {
            for (name, text) in texts {
                XCTAssertFalse(text.contains(String(secret.dropFirst(6))), "the secret shows in \(name)", file: file, line: line)
            }
        }
    }

    func testEveryRequestVerifiesWithEachSecretOfARotationSet() throws {
        let old = newSecret(), new = newSecret()
        let app = try startApp(arguments: ["--verify-signing-secret", old])
        let path = try secretFile("\(old) \(new)\n")
        let metrics = NSTemporaryDirectory() + "pj-signing-metrics-\(UUID().uuidString).prom"
        addTeardownBlock { try? FileManager.default.removeItem(atPath: metrics) }
        var ids = try (0..<3).map { _ in try db.insertJob("generate-image") }
        ids.append(try db.insertJob("generate-aplus", payload: #"{"projectId":"p2","note":"ünïcödé \" \\ /"}"#))
        let retried = try db.insertJob("generate-image", payload: #"{"projectId":"again"}"#)
        try app.setRules(#"[{"match":{"projectId":"again"},"times":1,"action":{"status":500}}]"#)

        let before = Int(Date().timeIntervalSince1970)
        let first = try runBinary(["run", "--signing-secret-file", path, "--metrics-file", metrics, "--log-format", "json"],
                                  environment: environment(app: app))
        XCTAssertEqual(first.status, 0, first.stderr)
        try db.query("UPDATE job_queue SET run_at = now() WHERE id = $1", [retried])
        let second = try runBinary(["run", "--signing-secret-file", path, "--log-format", "json"], environment: environment(app: app))
        XCTAssertEqual(second.status, 0, second.stderr)
        let after = Int(Date().timeIntervalSince1970)
        XCTAssertEqual(try db.count(where: "status = 'completed'"), 5)

        let requests = try app.requests()
        XCTAssertEqual(requests.count, 6)
        for request in requests {
            XCTAssertEqual(request.signature, "valid", "\(request.jobId ?? "?"): verified in the app with the first secret")
            let id = try XCTUnwrap(request.headers["webhook-id"])
            XCTAssertEqual(id, request.jobId, "webhook-id is the job id")
            let timestamp = try XCTUnwrap(Int(request.headers["webhook-timestamp"] ?? ""))
            XCTAssertTrue((before...after).contains(timestamp), "\(timestamp) outside the runs")
            XCTAssertEqual(request.headers["webhook-signature"]?.split(separator: " ").count, 2, "one v1 entry per secret")
            XCTAssertEqual(request.headers["authorization"], "Bearer test-token", "the token stays")

            XCTAssertNil(try app.verificationError(secret: old, body: request.body, headers: request.headers))
            XCTAssertNil(try app.verificationError(secret: new, body: request.body, headers: request.headers))
            XCTAssertNotNil(try app.verificationError(secret: newSecret(), body: request.body, headers: request.headers),
                            "a secret outside the set")
            var headers = request.headers
            XCTAssertNotNil(try app.verificationError(secret: old, body: request.body + " ", headers: headers), "body altered")
            headers["webhook-id"] = ids.first { $0 != id } ?? "other"
            XCTAssertNotNil(try app.verificationError(secret: old, body: request.body, headers: headers), "id altered")
            headers = request.headers
            headers["webhook-timestamp"] = String(timestamp + 1)
            XCTAssertNotNil(try app.verificationError(secret: old, body: request.body, headers: headers), "timestamp altered")
        }
        // The same id on every attempt (so the app can deduplicate), a timestamp of each send.
        let attempts = requests.filter { $0.jobId == retried }
        XCTAssertEqual(attempts.map(\.status), [500, 200])
        XCTAssertEqual(Set(attempts.compactMap { $0.headers["webhook-id"] }), [retried])
        let stamps = attempts.compactMap { $0.headers["webhook-timestamp"].flatMap { Int($0) } }
        XCTAssertEqual(stamps.count, 2)
        if stamps.count == 2 { XCTAssertLessThanOrEqual(stamps[0], stamps[1], "each attempt is stamped when it is sent") }

        let metricsText = try String(contentsOfFile: metrics, encoding: .utf8)
        assertNoSecret([old, new], in: ["the first run's log": first.stderr + first.stdout, "the second run's log": second.stderr,
                                        "the metrics": metricsText])
    }

    /// webhook-timestamp is the second each request starts, not when its job was claimed: with one
    /// request at a time, the second job of a batch waits 2s behind the first and is stamped later.
    func testTimestampIsTakenWhenTheRequestStarts() throws {
        let secret = newSecret()
        let app = try startApp(arguments: ["--verify-signing-secret", secret])
        let slow = try db.insertJob("generate-image", payload: #"{"projectId":"slow"}"#)
        try app.setRules(#"[{"match":{"projectId":"slow"},"action":{"delay_ms":2000}}]"#)
        let queued = try db.insertJob("generate-image")
        try db.query("UPDATE job_queue SET created_at = created_at + interval '1 second' WHERE id = $1", [queued])
        var env = environment(app: app)
        env["PROCESS_JOBS_SIGNING_SECRET"] = secret
        let result = try runBinary(["run", "--concurrency", "1", "--batch-size", "2"], environment: env)
        XCTAssertEqual(result.status, 0, result.stderr)
        let stamps = try [slow, queued].map { try XCTUnwrap(Int(app.requests(forJob: $0).first?.headers["webhook-timestamp"] ?? "")) }
        XCTAssertGreaterThanOrEqual(stamps[1] - stamps[0], 2, "the queued job was stamped when it was sent")
        XCTAssertEqual(try app.requests().map(\.signature), ["valid", "valid"])
    }

    /// --no-bearer-token: the signature alone; no Authorization header, no token needed. The app
    /// here accepts only a valid signature.
    func testNoBearerTokenSendsOnlyTheSignature() throws {
        let secret = newSecret()
        let app = try startApp(arguments: ["--verify-signing-secret", secret])
        try app.configure(#"{"token": null}"#)
        let id = try db.insertJob("generate-image")
        var env = environment(app: app)
        env["SUPABASE_SERVICE_ROLE_KEY"] = nil
        env["PROCESS_JOBS_SIGNING_SECRET"] = secret
        let result = try runBinary(["run", "--no-bearer-token", "--log-format", "json"], environment: env)
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(try db.job(id).status, "completed")
        let request = try XCTUnwrap(app.requests(forJob: id).first)
        XCTAssertNil(request.headers["authorization"])
        XCTAssertEqual(request.signature, "valid")
        assertNoSecret([secret], in: ["the log": result.stderr + result.stdout])

        // check probes with a signed empty body, which the app takes as proof and then refuses (400).
        try app.reset()
        let check = try runBinary(["check", "--no-bearer-token"], environment: env)
        XCTAssertTrue(check.stdout.contains("no bearer token, signed with a secret from PROCESS_JOBS_SIGNING_SECRET"), check.stdout)
        let probes = try app.requests()
        XCTAssertEqual(probes.count, 3, check.stdout)
        for probe in probes {
            XCTAssertEqual(probe.body, "{}")
            XCTAssertNil(probe.headers["authorization"])
            XCTAssertEqual(probe.signature, "valid")
            XCTAssertEqual(probe.status, 400)
        }
        XCTAssertEqual(check.status, 0, check.stdout + check.stderr)
        XCTAssertTrue(check.stdout.contains(": signature accepted (an empty body got HTTP 400)"), check.stdout)
        assertNoSecret([secret], in: ["check's output": check.stdout + check.stderr])
    }

    /// A signature the app refuses (401) with --no-bearer-token: exit 77 naming the signature, not
    /// the key that was never sent; the job released untouched.
    func testRejectedSignatureExits77() throws {
        let app = try startApp(arguments: ["--verify-signing-secret", newSecret()])
        try app.configure(#"{"token": null}"#)
        let id = try db.insertJob("generate-image")
        var env = environment(app: app)
        env["SUPABASE_SERVICE_ROLE_KEY"] = nil
        env["PROCESS_JOBS_SIGNING_SECRET"] = newSecret()
        let result = try runBinary(["run", "--no-bearer-token"], environment: env)
        XCTAssertEqual(result.status, 77, result.stderr)
        XCTAssertTrue(result.stderr.contains("only the signature proves it"), result.stderr)
        XCTAssertEqual(try app.requests(forJob: id).first?.signature?.hasPrefix("invalid: "), true)
        let row = try db.job(id)
        XCTAssertEqual(row.status, "pending")
        XCTAssertEqual(row.retryCount, 0)
    }

    /// Without a secret, --no-bearer-token is a usage error (64) and nothing is claimed.
    func testNoBearerTokenWithoutASecretIsRefused() throws {
        let app = try startApp()
        let id = try db.insertJob("generate-image")
        let result = try runBinary(["run", "--no-bearer-token"], environment: environment(app: app))
        XCTAssertEqual(result.status, 64, result.stderr)
        XCTAssertTrue(result.stderr.contains("--no-bearer-token needs a signing secret"), result.stderr)
        XCTAssertEqual(try db.job(id).status, "pending")
        XCTAssertEqual(try app.requests().count, 0)
    }

    /// A malformed secret: exit 78, one line saying what is wrong, the secret not in it, no job touched.
    func testMalformedSecretExits78WithoutPrintingIt() throws {
        let app = try startApp()
        let id = try db.insertJob("generate-image")
        let good = newSecret()
        for (raw, expected) in [("sk_live_NotAWebhookSecretAtAll", "does not start with whsec_"),
                                ("whsec_NotBase64!!NotBase64!!NotBase64!!", "is not whsec_ followed by base64"),
                                ("\(good) whsec_dG9vLXNob3J0", "signing secret 2 of 2")] {
            var env = environment(app: app)
            env["PROCESS_JOBS_SIGNING_SECRET"] = raw
            let result = try runBinary(["run"], environment: env)
            XCTAssertEqual(result.status, 78, result.stderr)
            XCTAssertTrue(result.stderr.contains(expected), result.stderr)
            XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, result.stderr)
            for word in raw.split(separator: " ") {
                XCTAssertFalse(result.stderr.contains(word.dropFirst(6)), "the secret shows: \(result.stderr)")
            }
        }
        XCTAssertEqual(try db.job(id).status, "pending")
        XCTAssertEqual(try app.requests().count, 0)
    }

    /// SIGHUP in repeat mode re-reads the signing secret file, as it does the token files.
    func testHangupInRepeatModeRereadsTheSecretFile() throws {
        let old = newSecret(), new = newSecret()
        let app = try startApp(arguments: ["--verify-signing-secret", old])
        try app.configure(#"{"token": null}"#)
        let path = try secretFile(old + "\n")
        let first = try db.insertJob("generate-aplus", payload: #"{"projectId":"first"}"#)
        var env = environment(app: app)
        env["SUPABASE_SERVICE_ROLE_KEY"] = nil
        let runner = try startBinary(["run", "--every", "1s", "--no-bearer-token", "--signing-secret-file", path, "--log-format", "json"],
                                     environment: env)
        defer { runner.signal(SIGKILL); _ = runner.wait(timeout: 10); runner.cleanUp() }
        awaitCondition("the first job completed with the old secret") { (try? db.job(first).status) == "completed" }

        try (new + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        try app.configure("{\"verify_signing_secret\": \"\(new)\"}")
        runner.signal(SIGHUP)
        awaitCondition("the reload logged") { runner.stderr.contains("SIGHUP: token re-read") }
        let second = try db.insertJob("generate-aplus", payload: #"{"projectId":"second"}"#)
        awaitCondition("the second job completed with the new secret", timeout: 20) {
            (try? db.job(second).status) == "completed" || !runner.isRunning
        }
        XCTAssertTrue(runner.isRunning, runner.stderr)
        XCTAssertEqual(try app.requests(forJob: second).first?.signature, "valid")
        runner.signal(SIGTERM)
        XCTAssertEqual(runner.wait(timeout: 10), 0, runner.stderr)
        assertNoSecret([old, new], in: ["the log": runner.stderr])
    }
}
