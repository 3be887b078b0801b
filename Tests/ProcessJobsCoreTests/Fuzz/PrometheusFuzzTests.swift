import XCTest
@testable import ProcessJobsCore

/// The metrics file carries job types and error-derived labels: no value may break a line or
/// the format, and every number reads back.
final class PrometheusFuzzTests: XCTestCase {
    /// Undoes the label-value escapes (\\, \", \n), as a Prometheus parser does.
    static func unescape(_ text: String) -> String {
        var out = "", escaped = false
        for scalar in text.unicodeScalars {
            if escaped {
                out.unicodeScalars.append(scalar == "n" ? "\n" : scalar)
                escaped = false
            } else if scalar == "\\" {
                escaped = true
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    func testLabelValuesAndHelpStayOnTheirLine() {
        Fuzz.run(self, "PrometheusText", fixed: Hostile.hostilePieces, generate: { hostile in
            hostile.chance(50) ? hostile.text(Hostile.hostilePieces) : hostile.byteString()
        }) { text in
            XCTAssertEqual(Self.unescape(PrometheusText.escapeLabelValue(text)), text)
            let rendered = PrometheusText.render([
                MetricFamily(name: "process_jobs_fuzz", help: text, samples: [.init([.init("job_type", text)], 1), .init([], 2)]),
            ])
            XCTAssertEqual(rendered.utf8.filter { $0 == UInt8(ascii: "\n") }.count, 4, rendered.debugDescription)
            _ = PrometheusText.isValidMetricName(text)
            _ = PrometheusText.isValidLabelName(text)
        }
    }

    func testValuesReadBack() {
        Fuzz.run(self, "PrometheusText.formatValue", fixed: [.nan, .infinity, -.infinity, 0, -0.0, .greatestFiniteMagnitude],
                 bytes: { withUnsafeBytes(of: $0) { Array($0) } }, generate: { $0.double() }) { value in
            let text = PrometheusText.formatValue(value)
            switch text {
            case "NaN": XCTAssertTrue(value.isNaN)
            case "+Inf": XCTAssertEqual(value, .infinity)
            case "-Inf": XCTAssertEqual(value, -.infinity)
            default:
                guard let back = Double(text) else { return XCTFail("\(value) -> '\(text)'") }
                XCTAssertEqual(back, value, accuracy: 0.000_000_5 + abs(value) * 1e-15, text)
            }
        }
    }
}
