import XCTest
@testable import ProcessJobsCore

final class TraceContextTests: XCTestCase {
    private let id = "6F1C2A9E-3b4d-4c5e-8f70-0123456789ab"

    func testTraceparentFormat() {
        let trace = TraceContext(jobID: id, span: 0xABC)
        XCTAssertEqual(trace.traceparent, "00-6f1c2a9e3b4d4c5e8f700123456789ab-0000000000000abc-01")
    }

    /// The trace id is the job's: the same for every attempt, and what the log line's trace_id says.
    func testTraceIDIsStableAndSpansDiffer() {
        let first = TraceContext(jobID: id, span: TraceContext.newSpan())
        let second = TraceContext(jobID: id, span: TraceContext.newSpan())
        XCTAssertEqual(first.traceID, second.traceID)
        XCTAssertEqual(first.traceID, TraceContext.traceID(forJob: id))
        XCTAssertNotEqual(first.spanID, second.spanID)
    }

    func testSpansAreNeverZero() {
        XCTAssertEqual(TraceContext(jobID: id, span: 0).spanID, "0000000000000001")
        for _ in 0..<1000 { XCTAssertNotEqual(TraceContext.newSpan(), 0) }
    }

    /// The nil uuid (an all-zero trace id is invalid) and ids that are not uuids still get a
    /// valid, stable trace id.
    func testIdsThatAreNotUsableAsTheyAre() {
        let valid = try! Regex("^[0-9a-f]{32}$")
        for odd in ["00000000-0000-0000-0000-000000000000", "", "job-1", "６f1c2a9e3b4d4c5e8f700123456789ab"] {
            let trace = TraceContext.traceID(forJob: odd)
            XCTAssertNotNil(trace.wholeMatch(of: valid), "\(odd): \(trace)")
            XCTAssertNotEqual(trace, String(repeating: "0", count: 32))
            XCTAssertEqual(trace, TraceContext.traceID(forJob: odd))
        }
        XCTAssertNotEqual(TraceContext.traceID(forJob: "job-1"), TraceContext.traceID(forJob: "job-2"))
    }
}
