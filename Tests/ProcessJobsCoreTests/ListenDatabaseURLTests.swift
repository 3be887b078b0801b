import XCTest
@testable import ProcessJobsCore

final class ListenDatabaseURLTests: XCTestCase {
    private let main = "postgresql://app@pooler:6543/app"
    private let direct = "postgresql://app@db:5432/app"

    func testTheFlagComesFirst() throws {
        let resolved = try ListenDatabaseURL.resolve(flag: direct, environment: ["PROCESS_JOBS_LISTEN_DATABASE_URL": "other"], main: main)
        XCTAssertEqual(resolved, ListenDatabaseURL(conninfo: direct, source: "--listen-database-url"))
    }

    func testThenTheEnvironmentThenTheMainConnection() throws {
        XCTAssertEqual(try ListenDatabaseURL.resolve(flag: nil, environment: ["PROCESS_JOBS_LISTEN_DATABASE_URL": direct], main: main),
                       ListenDatabaseURL(conninfo: direct, source: "PROCESS_JOBS_LISTEN_DATABASE_URL"))
        XCTAssertEqual(try ListenDatabaseURL.resolve(flag: nil, environment: ["PROCESS_JOBS_LISTEN_DATABASE_URL": ""], main: main),
                       ListenDatabaseURL(conninfo: main, source: "the main connection"), "an empty variable counts as unset")
        XCTAssertEqual(try ListenDatabaseURL.resolve(flag: nil, environment: [:], main: nil),
                       ListenDatabaseURL(conninfo: nil, source: "the main connection"), "libpq's defaults, as the main connection")
    }

    /// Only a listener on the main URL claims through a session it has checked: its tick may be
    /// prepared; claims beside a separate listen URL may go through a transaction pooler.
    func testOnlyTheMainConnectionsListenerClaimsThroughACheckedSession() throws {
        XCTAssertTrue(try ListenDatabaseURL.resolve(flag: nil, environment: [:], main: main).isMain)
        XCTAssertFalse(try ListenDatabaseURL.resolve(flag: direct, environment: [:], main: main).isMain)
        XCTAssertFalse(try ListenDatabaseURL.resolve(flag: nil, environment: ["PROCESS_JOBS_LISTEN_DATABASE_URL": main], main: main).isMain,
                       "named apart, even when it is the same URL")
    }

    func testAPasswordInTheEnvironmentIsFine() throws {
        let withPassword = "postgresql://app:secret@db:5432/app"
        XCTAssertEqual(try ListenDatabaseURL.resolve(flag: nil, environment: ["PROCESS_JOBS_LISTEN_DATABASE_URL": withPassword], main: main).conninfo,
                       withPassword)
    }

    func testAPasswordOrNothingInTheFlagIsAUsageError() {
        for flag in ["postgresql://app:secret@db/app", "host=db password=secret", ""] {
            XCTAssertThrowsError(try ListenDatabaseURL.resolve(flag: flag, environment: [:], main: main), flag) { error in
                guard case .usage(let text) = error as? ConfigError else { return XCTFail("\(error)") }
                XCTAssertFalse(text.contains("secret"), "the password is not repeated: \(text)")
                XCTAssertTrue(text.hasPrefix("--listen-database-url"), text)
            }
        }
    }
}
