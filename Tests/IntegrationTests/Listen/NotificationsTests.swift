import Foundation
import PostgresClient
import XCTest

/// LISTEN and notifications on a real server: what arrives, that waits are bounded and
/// interruptible, and that a lost connection shows as an error rather than silence.
final class NotificationsTests: IntegrationTestCase {
    func testANotificationArrivesWithChannelPayloadAndSender() throws {
        let listening = try Connection(conninfo: databaseURL)
        try listening.listen("process_jobs")
        XCTAssertEqual(try listening.notifications(), [], "nothing yet, and reading does not block")
        let sender = try XCTUnwrap(Int32(try db.query("SELECT pg_backend_pid()").values[0][0] ?? ""))
        try db.query("SELECT pg_notify($1, $2)", ["process_jobs", "hello"])
        let received = try listening.waitForNotifications(seconds: 10)
        XCTAssertEqual(received, [PostgresNotification(channel: "process_jobs", payload: "hello", senderPID: sender)])
    }

    func testOtherChannelsAreNotHeardAndTheWaitEndsOnTime() throws {
        let listening = try Connection(conninfo: databaseURL)
        try listening.listen("process_jobs")
        try db.query("SELECT pg_notify($1, $2)", ["something_else", "x"])
        let started = Date()
        XCTAssertEqual(try listening.waitForNotifications(seconds: 0.3), [])
        let waited = Date().timeIntervalSince(started)
        XCTAssertGreaterThanOrEqual(waited, 0.29)
        XCTAssertLessThan(waited, 2)
    }

    func testChannelNamesAreQuotedAsIdentifiers() throws {
        let listening = try Connection(conninfo: databaseURL)
        let odd = "we\"ird; DROP TABLE job_queue; --"
        XCTAssertEqual(try listening.quotedIdentifier(odd), "\"we\"\"ird; DROP TABLE job_queue; --\"")
        try listening.listen(odd)
        try db.query("SELECT pg_notify($1, $2)", [odd, "odd"])
        XCTAssertEqual(try listening.waitForNotifications(seconds: 10).map(\.payload), ["odd"])
        XCTAssertEqual(try db.query("SELECT to_regclass('job_queue') IS NOT NULL").values[0][0], "t")
        for bad in ["", String(repeating: "x", count: 64), "a\u{0}b"] {
            XCTAssertThrowsError(try listening.listen(bad), "\(bad.debugDescription) refused")
        }
    }

    func testAStopRequestEndsTheWaitAtOnce() throws {
        var pipeEnds: [Int32] = [-1, -1]
        XCTAssertEqual(pipe(&pipeEnds), 0)
        defer { pipeEnds.forEach { close($0) } }
        let listening = try Connection(conninfo: databaseURL)
        try listening.listen("process_jobs")
        listening.stop = .init(descriptor: pipeEnds[0]) { true }
        XCTAssertEqual(write(pipeEnds[1], "x", 1), 1)
        let started = Date()
        XCTAssertEqual(try listening.waitForNotifications(seconds: 30), [])
        XCTAssertLessThan(Date().timeIntervalSince(started), 1)
    }

    func testATerminatedSessionIsAnErrorNotSilence() throws {
        let listening = try Connection(conninfo: databaseURL)
        try listening.listen("process_jobs")
        let pid = try XCTUnwrap(listening.query("SELECT pg_backend_pid()").values[0][0])
        try db.query("SELECT pg_terminate_backend($1::int)", [pid])
        let started = Date()
        XCTAssertThrowsError(try listening.waitForNotifications(seconds: 10)) { error in
            XCTAssertEqual((error as? PostgresError)?.connectionLost, true, "\(error)")
            XCTAssertEqual((error as? PostgresError)?.isTransient, true, "\(error)")
        }
        XCTAssertLessThan(Date().timeIntervalSince(started), 5, "noticed when the socket closed, not at the end of the wait")
    }
}
