import Foundation
import XCTest
@testable import ProcessJobsCore

final class MetricsFileTests: XCTestCase {
    private var directory = ""

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "pj-metrics-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: directory)
    }

    func testWritesAtomicallyWithReadableModeAndNoLeftovers() throws {
        let path = directory + "/process_jobs.prom"
        try MetricsFile.write("first\n", to: path)
        try MetricsFile.write("second\n", to: path)
        XCTAssertEqual(MetricsFile.read(path), "second\n")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory), ["process_jobs.prom"],
                       "the temporary file is renamed, not left behind")
        let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        XCTAssertEqual(mode, 0o644)
    }

    func testCheckWritable() throws {
        XCTAssertNoThrow(try MetricsFile.checkWritable(directory + "/x.prom"))
        XCTAssertThrowsError(try MetricsFile.checkWritable(directory + "/missing/x.prom")) { error in
            XCTAssertTrue("\(error)".contains("does not exist"), "\(error)")
        }
        XCTAssertThrowsError(try MetricsFile.checkWritable(directory)) { error in
            XCTAssertTrue("\(error)".contains("is a directory"), "\(error)")
        }
        XCTAssertThrowsError(try MetricsFile.checkWritable(""))
        XCTAssertThrowsError(try MetricsFile.checkWritable(directory + "/"))
    }

    func testWriteIntoMissingDirectoryFails() {
        XCTAssertThrowsError(try MetricsFile.write("x", to: directory + "/missing/x.prom"))
    }

    func testCarriedTimesAreReadBack() {
        var summary = RunSummary()
        summary.claimed = 1
        let text = PrometheusText.render(RunMetrics.families(
            run: RunMetrics.Run(summary: summary, seconds: 1, stop: "drained", exitCode: 0, finishedAt: 1_700_000_123.25, types: []),
            queue: nil, carried: .init()))
        XCTAssertEqual(MetricsFile.carried(in: text), RunMetrics.Carried(lastSuccess: 1_700_000_123.25, lastClaim: 1_700_000_123.25))
        XCTAssertEqual(MetricsFile.carried(in: "process_jobs_last_success_timestamp_seconds 0\nprocess_jobs_last_claim_timestamp_seconds 0\n"),
                       RunMetrics.Carried(), "0 means none")
        XCTAssertEqual(MetricsFile.carried(in: "process_jobs_last_claim_timestamp_seconds 5\n"), RunMetrics.Carried(lastClaim: 5))
        XCTAssertEqual(MetricsFile.carried(in: "process_jobs_last_success_timestamp_seconds_other 5\n"), RunMetrics.Carried())
        XCTAssertEqual(MetricsFile.carried(in: "garbage"), RunMetrics.Carried())
        XCTAssertNil(MetricsFile.read(directory + "/nothing.prom"))
    }

    func testDirectoryAndBaseName() {
        XCTAssertEqual(MetricsFile.directory(of: "/a/b/c.prom"), "/a/b")
        XCTAssertEqual(MetricsFile.directory(of: "/c.prom"), "/")
        XCTAssertEqual(MetricsFile.directory(of: "c.prom"), ".")
        XCTAssertEqual(MetricsFile.baseName(of: "/a/b/c.prom"), "c.prom")
        XCTAssertEqual(MetricsFile.baseName(of: "c.prom"), "c.prom")
    }
}
