import Foundation
@testable import ProcessJobsCore
import XCTest

/// deploy/monitoring: the alerting rules pass the real `promtool` (check and unit tests, each
/// alert both firing and not firing), the dashboard is importable JSON on a datasource variable,
/// and every series the rules and the dashboard name is one a real run writes.
final class MonitoringTests: IntegrationTestCase {
    private let directory = Paths.repository.appendingPathComponent("deploy/monitoring").path
    private var rulesPath: String { directory + "/process-jobs.rules.yml" }
    private var dashboardPath: String { directory + "/process-jobs.dashboard.json" }

    private func promtool() throws -> String {
        guard let path = ["/usr/bin/promtool", "/usr/local/bin/promtool"].first(where: FileManager.default.isExecutableFile) else {
            throw XCTSkip("promtool is not installed (scripts/setup installs Debian's prometheus package)")
        }
        return path
    }

    /// The rules' and the dashboard's expressions, and per alert the unit-test cases that expect it
    /// to fire and those that expect silence, read with python's yaml and json modules.
    private struct Documents: Decodable {
        let rules: [String: String]
        let panels: [String]
        let firing: [String: Int]
        let silent: [String: Int]
    }

    private func documents() throws -> Documents {
        let script = """
            import glob, json, sys, yaml
            rules = yaml.safe_load(open(sys.argv[1]))
            dashboard = json.load(open(sys.argv[2]))
            firing, silent = {}, {}
            for path in glob.glob(sys.argv[3] + "/*.yml"):
                for test in yaml.safe_load(open(path))["tests"]:
                    for case in test.get("alert_rule_test", []):
                        into = firing if case.get("exp_alerts") else silent
                        into[case["alertname"]] = into.get(case["alertname"], 0) + 1
            print(json.dumps({
                "rules": {r.get("alert") or r["record"]: r["expr"] for g in rules["groups"] for r in g["rules"]},
                "panels": [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])],
                "firing": firing, "silent": silent}))
            """
        let result = try shell("/usr/bin/env", ["python3", "-c", script, rulesPath, dashboardPath, directory + "/tests"], timeout: 30)
        XCTAssertEqual(result.status, 0, result.stderr)
        return try JSONDecoder().decode(Documents.self, from: Data(result.stdout.utf8))
    }

    func testRulesPassPromtoolCheckAndEveryAlertFiresAndStaysSilentInItsTests() throws {
        let promtool = try promtool()
        let check = try shell(promtool, ["check", "rules", rulesPath], timeout: 60)
        XCTAssertEqual(check.status, 0, check.stdout + check.stderr)
        XCTAssertTrue(check.stdout.contains("SUCCESS"), check.stdout)

        let tests = try FileManager.default.contentsOfDirectory(atPath: directory + "/tests")
            .filter { $0.hasSuffix(".yml") }.sorted().map { directory + "/tests/" + $0 }
        XCTAssertFalse(tests.isEmpty)
        let run = try shell(promtool, ["test", "rules"] + tests, timeout: 120)
        XCTAssertEqual(run.status, 0, run.stdout + run.stderr)
        XCTAssertFalse(run.stdout.contains("FAILED"), run.stdout)

        let documents = try documents()
        XCTAssertGreaterThanOrEqual(documents.rules.count, 5)
        for alert in documents.rules.keys {
            XCTAssertGreaterThan(documents.firing[alert] ?? 0, 0, "\(alert) has no test where it fires")
            XCTAssertGreaterThan(documents.silent[alert] ?? 0, 0, "\(alert) has no test where it stays silent")
        }
    }

    func testDashboardIsImportableWithADatasourceVariableAndValidQueries() throws {
        let object = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dashboardPath)))
        let dashboard = try XCTUnwrap(object as? [String: Any])
        XCTAssertGreaterThanOrEqual(try XCTUnwrap(dashboard["schemaVersion"] as? Int), 36)
        XCTAssertNotNil(dashboard["title"] as? String)
        XCTAssertNil(dashboard["id"] as? Int, "an id would clash with the importing Grafana's own")
        let variables = try XCTUnwrap((dashboard["templating"] as? [String: Any])?["list"] as? [[String: Any]])
        XCTAssertTrue(variables.contains { $0["name"] as? String == "datasource" && $0["type"] as? String == "datasource"
            && $0["query"] as? String == "prometheus" })
        let panels = try XCTUnwrap(dashboard["panels"] as? [[String: Any]])
        XCTAssertEqual(Set(panels.compactMap { $0["id"] as? Int }).count, panels.count, "unique panel ids")
        let queried = variables.filter { $0["type"] as? String == "query" } + panels + panels.flatMap { $0["targets"] as? [[String: Any]] ?? [] }
        for item in queried {
            let source = try XCTUnwrap(item["datasource"] as? [String: String], "\(item)")
            XCTAssertEqual(source["uid"], "${datasource}", "every query uses the datasource variable")
        }

        // PromQL syntax: each panel's query, with the variables filled in, as a recording rule (JSON is
        // YAML, as long as "/" is not escaped).
        let promtool = try promtool()
        let expressions = try documents().panels
        XCTAssertGreaterThanOrEqual(expressions.count, panels.count)
        let rules: [String: Any] = ["groups": [["name": "dashboard", "rules": expressions.enumerated().map { index, expression in
            ["record": "dashboard:panel\(index)",
             "expr": expression.replacingOccurrences(of: "$instance", with: ".*").replacingOccurrences(of: "$type", with: ".*")]
        }]]]
        let path = NSTemporaryDirectory() + "pj-dashboard-\(UUID().uuidString).yml"
        try JSONSerialization.data(withJSONObject: rules, options: .withoutEscapingSlashes).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let check = try shell(promtool, ["check", "rules", path], timeout: 60)
        XCTAssertEqual(check.status, 0, check.stdout + check.stderr)
    }

    /// A real run against the test database and app writes the file; every metric the rules and
    /// the dashboard name must be in it (a renamed series would otherwise leave an alert silent).
    func testEverySeriesTheRulesAndDashboardNameIsWrittenByARealRun() throws {
        let app = try startApp()
        try db.insertJob("generate-image")
        let file = NSTemporaryDirectory() + "pj-monitoring-\(UUID().uuidString).prom"
        defer { try? FileManager.default.removeItem(atPath: file) }
        let result = try runBinary(["run", "--metrics-file", file], environment: environment(app: app))
        XCTAssertEqual(result.status, 0, result.stderr)
        let written = Set(try PrometheusExposition(String(contentsOfFile: file, encoding: .utf8)).order)

        let documents = try documents()
        var used = Set<String>()
        for (name, expression) in documents.rules.map({ ($0.key, $0.value) }) + documents.panels.map({ ("dashboard", $0) }) {
            let metrics = Self.metricNames(in: expression)
            XCTAssertFalse(metrics.isEmpty, "\(name): \(expression)")
            for metric in metrics {
                XCTAssertTrue(written.contains(metric), "\(name) names \(metric), which the run does not write")
            }
            used.formUnion(metrics)
        }
        for needed in ["process_jobs_last_success_timestamp_seconds", "process_jobs_last_claim_timestamp_seconds",
                       "process_jobs_last_run_exit_code", "process_jobs_last_run_route_paused",
                       "process_jobs_queue_oldest_due_age_seconds", "process_jobs_last_run_jobs"] {
            XCTAssertTrue(used.contains(needed), "\(needed) is not used")
        }
    }

    func testMetricNamesAreFoundInPromQL() {
        XCTAssertEqual(Self.metricNames(in: #"sum by (instance, type) (sum_over_time(a_b{outcome=~"x|y",type=~"$type"}[30m])) / ignoring (type) c > 0.1 and on (job) time() - d_seconds offset 5m"#),
                       ["a_b", "c", "d_seconds"])
        XCTAssertEqual(Self.metricNames(in: "absent(up)"), ["up"])
    }

    /// The metric names in a PromQL expression: identifiers left once strings, label matchers,
    /// ranges, grouping clauses, function calls and keywords are taken out.
    static func metricNames(in expression: String) -> Set<String> {
        var text = expression
        for pattern in [#""([^"\\]|\\.)*""#, #"\{[^}]*\}"#, #"\[[^\]]*\]"#,
                        #"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)"#, #"\boffset\s+\w+"#] {
            text = text.replacingOccurrences(of: pattern, with: " ", options: .regularExpression)
        }
        let keywords: Set<String> = ["and", "or", "unless", "bool", "by", "without", "on", "ignoring", "group_left", "group_right"]
        var names = Set<String>()
        let identifier = try! NSRegularExpression(pattern: #"(?<![\w.])([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?"#)
        let range = NSRange(text.startIndex..., in: text)
        for match in identifier.matches(in: text, range: range) where match.range(at: 2).location == NSNotFound {
            let name = String(text[Range(match.range(at: 1), in: text)!])
            if !keywords.contains(name) { names.insert(name) }
        }
        return names
    }
}
