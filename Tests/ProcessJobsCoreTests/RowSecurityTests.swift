import XCTest
@testable import ProcessJobsCore

final class RowSecurityTests: XCTestCase {
    private func security(_ change: (inout RowSecurity) -> Void = { _ in }) -> RowSecurity {
        var value = RowSecurity(role: "process_jobs", enabled: true, forced: false, owner: false, bypass: false,
                                selectPolicy: true, updatePolicy: true, estimatedRows: 100, liveRows: 100, seesRows: true)
        change(&value)
        return value
    }

    private func failure(_ value: RowSecurity) -> String? {
        if case .fail(let text) = value.verdict { return text }
        return nil
    }

    func testPassesWhenOffBypassedOwnedOrCoveredByPolicies() {
        XCTAssertEqual(security { $0.enabled = false; $0.selectPolicy = false }.verdict, .pass("off on job_queue"))
        XCTAssertNil(failure(security { $0.bypass = true; $0.selectPolicy = false; $0.seesRows = false }))
        XCTAssertNil(failure(security { $0.owner = true; $0.selectPolicy = false }))
        XCTAssertNil(failure(security()))
    }

    func testFailsWithoutAPolicyForTheRole() throws {
        let text = try XCTUnwrap(failure(security { $0.selectPolicy = false }))
        XCTAssertTrue(text.hasPrefix("row level security is on for job_queue and no policy lets role process_jobs see rows"), text)
        XCTAssertTrue(text.contains("CREATE POLICY process_jobs_all_rows ON job_queue FOR ALL TO process_jobs"), text)
        XCTAssertNotNil(failure(security { $0.updatePolicy = false }))
        XCTAssertNotNil(failure(security { $0.owner = true; $0.forced = true; $0.selectPolicy = false }), "FORCE applies RLS to the owner")
    }

    func testFailsWhenTheTableHasRowsButTheRoleSeesNone() throws {
        let text = try XCTUnwrap(failure(security { $0.seesRows = false }))
        XCTAssertTrue(text.contains("about 100 rows but role process_jobs sees none"), text)
        // An estimate alone is not enough: a never-analyzed table (-1) or one emptied since (0 live rows).
        XCTAssertNil(failure(security { $0.seesRows = false; $0.estimatedRows = -1 }))
        XCTAssertNil(failure(security { $0.seesRows = false; $0.liveRows = 0 }))
    }

    func testARoleNameWithControlCharactersStaysOnOneLine() throws {
        let text = try XCTUnwrap(failure(security { $0.role = "evil\nrole"; $0.selectPolicy = false }))
        XCTAssertFalse(text.contains("\n"), text)
    }
}
