import Foundation
import XCTest
@testable import ProcessJobsCore

final class SigningSecretTests: XCTestCase {
    private var directory: URL!
    /// Two 32-byte keys, as `whsec_$(openssl rand -base64 32)` makes them.
    private let first = "whsec_" + Data(repeating: 0x11, count: 32).base64EncodedString()
    private let second = "whsec_" + Data(repeating: 0x22, count: 32).base64EncodedString()

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("SigningSecretTests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    @discardableResult
    private func write(_ contents: String, to name: String, mode: Int = 0o600) throws -> String {
        let url = directory.appendingPathComponent(name)
        try Data(contents.utf8).write(to: url)
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: url.path)
        return url.path
    }

    private func configError(_ body: () throws -> SigningSecret?) -> ConfigError? {
        do {
            let secret = try body()
            XCTFail("expected an error, got \(String(describing: secret))")
            return nil
        } catch let error as ConfigError {
            return error
        } catch {
            XCTFail("unexpected \(error)")
            return nil
        }
    }

    func testParseOneAndARotationSet() throws {
        let one = try SigningSecret.parse(first + "\n", source: "test")
        XCTAssertEqual(one.keys, [[UInt8](repeating: 0x11, count: 32)])
        let two = try SigningSecret.parse("\(first)  \(second)\n", source: "test")
        XCTAssertEqual(two.keys, [[UInt8](repeating: 0x11, count: 32), [UInt8](repeating: 0x22, count: 32)])
        // The reference libraries accept unpadded base64; so does this.
        let unpadded = try SigningSecret.parse("whsec_" + Data(repeating: 3, count: 25).base64EncodedString().replacingOccurrences(of: "=", with: ""), source: "t")
        XCTAssertEqual(unpadded.keys, [[UInt8](repeating: 3, count: 25)])
    }

    /// Malformed secrets: a configuration error (78) that says what is wrong and never echoes the secret.
    func testMalformedSecretsAreRefusedWithoutPrintingThem() {
        let cases: [(String, String)] = [
            ("", "is empty"),
            ("  \n", "is empty"),
            ("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "does not start with whsec_"),
            ("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw!", "is not whsec_ followed by base64"),
            ("whsec_c2VjcmV0", "6-byte key"),
            ("\(first) whsec_sk_live_Not-Base64", "signing secret 2 of 2"),
        ]
        for (raw, expected) in cases {
            guard let error = configError({ try SigningSecret.parse(raw, source: "PROCESS_JOBS_SIGNING_SECRET") }) else { continue }
            guard case .configuration(let text) = error else { XCTFail("\(raw): \(error)"); continue }
            XCTAssertTrue(text.contains(expected), "\(raw): \(text)")
            XCTAssertTrue(text.contains("PROCESS_JOBS_SIGNING_SECRET"), text)
            XCTAssertFalse(text.contains("\n"), text)
            for word in raw.split(separator: " ") where word.count > 6 {
                XCTAssertFalse(text.contains(word.dropFirst(6)), "the message shows the secret: \(text)")
            }
        }
    }

    func testDescriptionIsRedacted() throws {
        let secret = try SigningSecret.parse(first, source: "PROCESS_JOBS_SIGNING_SECRET")
        XCTAssertEqual("\(secret)", "<signing secret from PROCESS_JOBS_SIGNING_SECRET>")
    }

    /// The flag wins over the credential, the credential over the environment; none is nil.
    func testPrecedence() throws {
        let file = try write(first + "\n", to: "secret")
        let credentials = directory.appendingPathComponent("credentials")
        try FileManager.default.createDirectory(at: credentials, withIntermediateDirectories: true)
        try write(second, to: "credentials/signing-secret")
        let third = "whsec_" + Data(repeating: 0x33, count: 32).base64EncodedString()
        let everything = ["CREDENTIALS_DIRECTORY": credentials.path, "PROCESS_JOBS_SIGNING_SECRET": third]

        let fromFile = try XCTUnwrap(SigningSecret.load(file: file, environment: everything) { _ in })
        XCTAssertEqual(fromFile.keys.first?.first, 0x11)
        XCTAssertEqual(fromFile.source, "--signing-secret-file \(file)")
        let fromCredential = try XCTUnwrap(SigningSecret.load(file: nil, environment: everything) { _ in })
        XCTAssertEqual(fromCredential.keys.first?.first, 0x22)
        XCTAssertEqual(fromCredential.source, credentials.path + "/signing-secret")
        let fromEnvironment = try XCTUnwrap(SigningSecret.load(file: nil, environment: ["PROCESS_JOBS_SIGNING_SECRET": third]) { _ in })
        XCTAssertEqual(fromEnvironment.keys.first?.first, 0x33)
        // A credentials directory without this credential (the token's only) falls through.
        let fallThrough = try XCTUnwrap(SigningSecret.load(file: nil, environment: [
            "CREDENTIALS_DIRECTORY": directory.path, "PROCESS_JOBS_SIGNING_SECRET": third]) { _ in })
        XCTAssertEqual(fallThrough.keys.first?.first, 0x33)
        XCTAssertNil(try SigningSecret.load(file: nil, environment: ["CREDENTIALS_DIRECTORY": directory.path]) { _ in })
    }

    func testFileProblems() throws {
        let missing = directory.appendingPathComponent("missing").path
        XCTAssertEqual(configError { try SigningSecret.load(file: missing, environment: [:]) { _ in } },
                       .usage("signing secret file \(missing) does not exist"))
        guard case .configuration(let text)? = configError({ try SigningSecret.load(file: self.directory.path, environment: [:]) { _ in } }) else {
            return XCTFail("a directory is no secret file")
        }
        XCTAssertTrue(text.contains("not a regular file"), text)

        let open = try write(first, to: "open", mode: 0o644)
        var warnings: [String] = []
        _ = try SigningSecret.load(file: open, environment: [:]) { warnings.append($0) }
        XCTAssertEqual(warnings, ["signing secret file \(open) is readable by every user: chmod 600 it"])
    }
}
