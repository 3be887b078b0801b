@testable import PostgresClient
import XCTest

/// Which failures a timer should simply retry (75) and which need a person (78).
final class PostgresErrorTests: XCTestCase {
    private func connect(_ message: String) -> PostgresError {
        PostgresError(kind: .connect, sqlState: nil, message: message, connectionLost: true)
    }

    func testNotReachableNowIsTransient() {
        for message in [
            #"connection to server at "127.0.0.1", port 5 failed: Connection refused; Is the server running on that host and accepting TCP/IP connections?"#,
            #"connection to server on socket "/tmp/.s.PGSQL.5432" failed: No such file or directory"#,
            "FATAL:  the database system is starting up", "FATAL:  the database system is shutting down",
            "FATAL:  sorry, too many clients already", #"FATAL:  too many connections for role "x""#,
            "FATAL:  remaining connection slots are reserved for non-replication superuser connections",
            "server closed the connection unexpectedly", "could not translate host name \"db\" to address: Temporary failure in name resolution",
            "ERROR:  pgbouncer cannot connect to server",
        ] {
            XCTAssertTrue(connect(message).isTransient, message)
        }
        XCTAssertTrue(PostgresError(kind: .connect, sqlState: nil, message: "x", connectionLost: true, timedOut: true).isTransient)
        XCTAssertTrue(PostgresError(kind: .query, sqlState: nil, message: "x", connectionLost: true, timedOut: true).isTransient)
    }

    func testConfigurationIsNotTransient() {
        for message in [
            #"invalid sslmode value: "bogus""#, #"invalid port number: "99999""#, #"invalid URI query parameter: "foo""#,
            "unterminated quoted string in connection info string", #"invalid connection option "foo""#,
            "connection to server at \"h\", port 5 failed: SSL error: certificate verify failed",
            #"root certificate file "/x" does not exist; Either provide the file or change sslmode"#,
            #"server certificate for "db.example" does not match host name "127.0.0.1""#,
            "server does not support SSL, but SSL was required",
            #"FATAL:  password authentication failed for user "u""#, #"FATAL:  database "x" does not exist"#,
            #"could not translate host name "nope" to address: Name or service not known"#,
            #"could not open certificate file "/x/client.crt": No such file or directory"#,
        ] {
            XCTAssertFalse(connect(message).isTransient, message)
        }
    }
}
