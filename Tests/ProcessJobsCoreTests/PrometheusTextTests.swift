import XCTest
@testable import ProcessJobsCore

final class PrometheusTextTests: XCTestCase {
    func testRendersHelpTypeAndSamplesInOrder() {
        let text = PrometheusText.render([
            MetricFamily(name: "process_jobs_a_seconds", help: "A.", samples: [.init([], 1.5)]),
            MetricFamily(name: "process_jobs_b", help: "B.", kind: .counter,
                         samples: [.init([.init("type", "x"), .init("outcome", "ok")], 2)]),
        ])
        XCTAssertEqual(text, """
            # HELP process_jobs_a_seconds A.
            # TYPE process_jobs_a_seconds gauge
            process_jobs_a_seconds 1.5
            # HELP process_jobs_b B.
            # TYPE process_jobs_b counter
            process_jobs_b{type="x",outcome="ok"} 2

            """)
    }

    func testEscapesLabelValues() {
        let cases: [(String, String)] = [
            (#"plain"#, #"plain"#),
            (#"back\slash"#, #"back\\slash"#),
            (#"say "hi""#, #"say \"hi\""#),
            ("two\nlines", #"two\nlines"#),
            ("tab\tand é and ☃", "tab\tand é and ☃"),
            (#"\n literal"#, #"\\n literal"#),
            ("", ""),
        ]
        for (raw, escaped) in cases {
            XCTAssertEqual(PrometheusText.escapeLabelValue(raw), escaped, raw)
        }
        let line = PrometheusText.render([MetricFamily(name: "m", help: "h", samples: [.init([.init("type", "a\"b\\c\nd")], 1)])])
        XCTAssertTrue(line.contains(#"m{type="a\"b\\c\nd"} 1"#), line)
        XCTAssertEqual(line.split(separator: "\n").count, 3, "a newline in a value must not break the line")
    }

    func testEscapesHelpButNotQuotes() {
        XCTAssertEqual(PrometheusText.escapeHelp("a \"q\" b\\c\nd"), #"a "q" b\\c\nd"#)
    }

    func testFormatsValuesAsGoFloats() {
        let cases: [(Double, String)] = [
            (0, "0"), (42, "42"), (-3, "-3"), (1.5, "1.5"), (0.000001, "0.000001"), (0.0000001, "0"),
            (1_732_380_000.123456, "1732380000.123456"), (.infinity, "+Inf"), (-.infinity, "-Inf"), (.nan, "NaN"),
            (1e14, "100000000000000"), (1e20, "1e+20"),
        ]
        for (value, text) in cases {
            XCTAssertEqual(PrometheusText.formatValue(value), text, "\(value)")
        }
    }

    func testNameRules() {
        for name in ["process_jobs_x", "a", "_a", "a:b", "A9_"] {
            XCTAssertTrue(PrometheusText.isValidMetricName(name), name)
        }
        for name in ["", "9a", "a-b", "a b", "é"] {
            XCTAssertFalse(PrometheusText.isValidMetricName(name), name)
        }
        for name in ["type", "_x", "outcome9"] {
            XCTAssertTrue(PrometheusText.isValidLabelName(name), name)
        }
        for name in ["", "a:b", "__reserved", "9x", "a-b"] {
            XCTAssertFalse(PrometheusText.isValidLabelName(name), name)
        }
    }

    func testEmptyFamilyStillHasHelpAndType() {
        XCTAssertEqual(PrometheusText.render([MetricFamily(name: "m", help: "h", samples: [])]), "# HELP m h\n# TYPE m gauge\n")
    }
}
