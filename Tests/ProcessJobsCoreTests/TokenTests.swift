import Foundation
import XCTest
@testable import ProcessJobsCore

final class TokenTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("TokenTests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    /// Writes `contents` to `name` in the test directory with `mode`, and returns its path.
    @discardableResult
    private func write(_ contents: String, to name: String, mode: Int = 0o600) throws -> String {
        let url = directory.appendingPathComponent(name)
        try Data(contents.utf8).write(to: url)
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: url.path)
        return url.path
    }

    private func configError(_ body: () throws -> Token) -> ConfigError? {
        do {
            let token = try body()
            XCTFail("expected an error, got \(token)")
            return nil
        } catch let error as ConfigError {
            return error
        } catch {
            XCTFail("unexpected \(error)")
            return nil
        }
    }

    // MARK: check

    func testCheckStripsOneTrailingLineBreak() throws {
        let cases: [(raw: String, value: String)] = [
            ("abc", "abc"), ("abc\n", "abc"), ("abc\r\n", "abc"),
            ("eyJhbGciOiJIUzI1NiJ9.eyJyb2xlIjoic2VydmljZV9yb2xlIn0.sig-_~", "eyJhbGciOiJIUzI1NiJ9.eyJyb2xlIjoic2VydmljZV9yb2xlIn0.sig-_~"),
            ("k\r\n", "k"), ("k\n", "k"),
        ]
        for (raw, value) in cases {
            let token = try Token.check(raw, source: "test")
            XCTAssertEqual(token.value, value, raw.debugDescription)
            XCTAssertEqual(token.source, "test")
        }
    }

    func testCheckRefusesEmpty() {
        for raw in ["", "\n", "\r\n"] {
            let error = configError { try Token.check(raw, source: "SUPABASE_SERVICE_ROLE_KEY") }
            XCTAssertEqual(error, .configuration("the service-role key from SUPABASE_SERVICE_ROLE_KEY is empty"), raw.debugDescription)
        }
    }

    func testCheckRefusesWhatWouldCorruptTheHeader() {
        let raws = [
            "s3cr3t\n\n", "s3cr3t\r", "s3cr3t\n\r", "s3 cr3t", " s3cr3t", "s3cr3t ", "s3\tcr3t", "s3\ncr3t", "s3\r\ncr3t",
            "s3cr3t\u{7F}", "s3cr3t\u{0}", "s3cr3t\u{1B}", "s3cr3té", "s3cr3t\u{A0}", "s3cr3t\u{2028}", "\ns3cr3t",
        ]
        for raw in raws {
            let error = configError { try Token.check(raw, source: "SUPABASE_SERVICE_ROLE_KEY") }
            guard case .configuration(let text)? = error else {
                XCTFail("\(raw.debugDescription): \(String(describing: error))")
                continue
            }
            XCTAssertTrue(text.contains("SUPABASE_SERVICE_ROLE_KEY"), text)
            XCTAssertTrue(text.contains("write the key alone on one line"), text)
            XCTAssertFalse(text.contains("s3"), text)
            XCTAssertFalse(text.contains("cr3t"), text)
        }
    }

    func testDescriptionIsRedacted() throws {
        let token = try Token.check("s3cr3t", source: "SUPABASE_SERVICE_ROLE_KEY")
        XCTAssertEqual("\(token)", "<token from SUPABASE_SERVICE_ROLE_KEY>")
        XCTAssertFalse(String(reflecting: token).isEmpty)
    }

    // MARK: load

    func testPrecedence() throws {
        let file = try write("file-token\n", to: "token")
        let credentials = directory.appendingPathComponent("credentials")
        try FileManager.default.createDirectory(at: credentials, withIntermediateDirectories: true)
        try write("credential-token\n", to: "credentials/service-role-key")
        let everything = ["CREDENTIALS_DIRECTORY": credentials.path, "SUPABASE_SERVICE_ROLE_KEY": "env-token"]
        var warnings: [String] = []

        let fromFile = try Token.load(tokenFile: file, environment: everything) { warnings.append($0) }
        XCTAssertEqual(fromFile.value, "file-token")
        XCTAssertEqual(fromFile.source, "--token-file \(file)")

        let fromCredential = try Token.load(tokenFile: nil, environment: everything) { warnings.append($0) }
        XCTAssertEqual(fromCredential.value, "credential-token")
        XCTAssertEqual(fromCredential.source, credentials.path + "/service-role-key")

        let fromEnvironment = try Token.load(tokenFile: nil, environment: ["SUPABASE_SERVICE_ROLE_KEY": "env-token"]) {
            warnings.append($0)
        }
        XCTAssertEqual(fromEnvironment.value, "env-token")
        XCTAssertEqual(fromEnvironment.source, "SUPABASE_SERVICE_ROLE_KEY")
        XCTAssertEqual(warnings, [])
    }

    func testCredentialsDirectoryWithoutTheCredentialFallsBack() throws {
        let empty = directory.appendingPathComponent("empty-credentials")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        for directory in [empty.path, "", "/nonexistent-\(UUID().uuidString)"] {
            let token = try Token.load(tokenFile: nil, environment: [
                "CREDENTIALS_DIRECTORY": directory, "SUPABASE_SERVICE_ROLE_KEY": "env-token",
            ]) { _ in }
            XCTAssertEqual(token.value, "env-token", directory)
        }
    }

    func testTokenFileWithCRLF() throws {
        let file = try write("file-token\r\n", to: "token")
        XCTAssertEqual(try Token.load(tokenFile: file, environment: [:]) { _ in }.value, "file-token")
    }

    func testMissingTokenFileIsAUsageError() {
        let path = directory.appendingPathComponent("missing").path
        let error = configError { try Token.load(tokenFile: path, environment: ["SUPABASE_SERVICE_ROLE_KEY": "env-token"]) { _ in } }
        XCTAssertEqual(error, .usage("token file \(path) does not exist"))
    }

    func testBadTokenFileContents() throws {
        let cases: [(contents: String, hint: String)] = [
            ("", "is empty"),
            ("\n", "is empty"),
            ("s3cr3t s3cr3t\n", "write the key alone on one line"),
            ("s3cr3t\ns3cr3t\n", "write the key alone on one line"),
            (String(repeating: "s3cr3t", count: 12_000), "larger than 64 KiB"),
        ]
        for (contents, hint) in cases {
            let file = try write(contents, to: "token")
            let error = configError { try Token.load(tokenFile: file, environment: [:]) { _ in } }
            guard case .configuration(let text)? = error else {
                XCTFail("\(contents.prefix(20).debugDescription): \(String(describing: error))")
                continue
            }
            XCTAssertTrue(text.contains(hint), text)
            XCTAssertTrue(text.contains(file), text)
            XCTAssertFalse(text.contains("s3cr3t"), text)
        }
    }

    /// A FIFO would block the read until a writer comes (forever, under a timer); a device may
    /// never end. Anything but a regular file is refused before a byte is read.
    func testOnlyARegularFileIsRead() throws {
        let fifo = directory.appendingPathComponent("fifo").path
        XCTAssertEqual(mkfifo(fifo, 0o600), 0)
        for path in [fifo, "/dev/zero", directory.path] {
            let error = configError { try Token.load(tokenFile: path, environment: [:]) { _ in } }
            guard case .configuration(let text)? = error else { XCTFail("\(path): \(String(describing: error))"); continue }
            XCTAssertTrue(text.contains("is not a regular file"), text)
        }
    }

    func testWorldReadableFileWarns() throws {
        let file = try write("s3cr3t\n", to: "token", mode: 0o644)
        var warnings: [String] = []
        let token = try Token.load(tokenFile: file, environment: [:]) { warnings.append($0) }
        XCTAssertEqual(token.value, "s3cr3t")
        XCTAssertEqual(warnings, ["token file \(file) is readable by every user: chmod 600 it"])

        for mode in [0o600, 0o640, 0o400] {
            try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: file)
            warnings = []
            _ = try Token.load(tokenFile: file, environment: [:]) { warnings.append($0) }
            XCTAssertEqual(warnings, [], "mode \(String(mode, radix: 8))")
        }
    }

    func testWorldReadableCredentialWarns() throws {
        let credentials = directory.appendingPathComponent("credentials")
        try FileManager.default.createDirectory(at: credentials, withIntermediateDirectories: true)
        let path = try write("credential-token", to: "credentials/service-role-key", mode: 0o604)
        var warnings: [String] = []
        let token = try Token.load(tokenFile: nil, environment: ["CREDENTIALS_DIRECTORY": credentials.path]) {
            warnings.append($0)
        }
        XCTAssertEqual(token.value, "credential-token")
        XCTAssertEqual(warnings.count, 1)
        XCTAssertTrue(warnings.first?.contains(path) ?? false, "\(warnings)")
        XCTAssertFalse(warnings.first?.contains("credential-token") ?? true, "\(warnings)")
    }

    func testNothingAtAll() {
        for environment in [[:], ["CREDENTIALS_DIRECTORY": directory.path]] {
            let error = configError { try Token.load(tokenFile: nil, environment: environment) { _ in } }
            guard case .configuration(let text)? = error else {
                XCTFail(String(describing: error))
                continue
            }
            XCTAssertTrue(text.contains("SUPABASE_SERVICE_ROLE_KEY"), text)
            XCTAssertTrue(text.contains("--token-file"), text)
        }
    }

    func testBadEnvironmentValue() {
        for (value, hint) in [("", "is empty"), ("s3cr3t s3cr3t", "write the key alone on one line")] {
            let error = configError { try Token.load(tokenFile: nil, environment: ["SUPABASE_SERVICE_ROLE_KEY": value]) { _ in } }
            guard case .configuration(let text)? = error else {
                XCTFail(String(describing: error))
                continue
            }
            XCTAssertTrue(text.contains("SUPABASE_SERVICE_ROLE_KEY"), text)
            XCTAssertTrue(text.contains(hint), text)
            XCTAssertFalse(text.contains("s3cr3t"), text)
        }
    }
}

extension TokenTests {
    func testUnusableCredentialIsAnErrorNotAFallback() throws {
        let directory = NSTemporaryDirectory() + "pj-cred-bad-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try "two words\n".write(toFile: directory + "/service-role-key", atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try Token.load(tokenFile: nil, environment: ["CREDENTIALS_DIRECTORY": directory,
                                                                          "SUPABASE_SERVICE_ROLE_KEY": "fallback"], warn: { _ in })) { error in
            XCTAssertTrue("\(error)".contains(directory + "/service-role-key"), "\(error)")
        }
    }
}
