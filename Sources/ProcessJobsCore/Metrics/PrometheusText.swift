/// One metric family in Prometheus' text exposition format (version 0.0.4), as node_exporter's
/// textfile collector reads it.
public struct MetricFamily: Sendable, Equatable {
    public enum Kind: String, Sendable {
        case gauge, counter, untyped
    }

    public struct Sample: Sendable, Equatable {
        /// Label names and values, in the order written.
        public var labels: [Label]
        public var value: Double

        public init(_ labels: [Label] = [], _ value: Double) {
            self.labels = labels
            self.value = value
        }
    }

    public struct Label: Sendable, Equatable {
        public var name: String
        public var value: String

        public init(_ name: String, _ value: String) {
            self.name = name
            self.value = value
        }
    }

    public var name: String
    public var help: String
    public var kind: Kind
    public var samples: [Sample]

    public init(name: String, help: String, kind: Kind = .gauge, samples: [Sample]) {
        self.name = name
        self.help = help
        self.kind = kind
        self.samples = samples
    }
}

/// Renders metric families: HELP, TYPE, then the samples, family after family; every line ends
/// in "\n". Label values and help text are escaped as the format requires; names are checked.
public enum PrometheusText {
    public static func render(_ families: [MetricFamily]) -> String {
        var out = ""
        for family in families {
            precondition(isValidMetricName(family.name), "invalid metric name \(family.name)")
            out += "# HELP \(family.name) \(escapeHelp(family.help))\n"
            out += "# TYPE \(family.name) \(family.kind.rawValue)\n"
            for sample in family.samples {
                out += family.name
                if !sample.labels.isEmpty {
                    out += "{"
                    out += sample.labels.map { label in
                        precondition(isValidLabelName(label.name), "invalid label name \(label.name)")
                        return "\(label.name)=\"\(escapeLabelValue(label.value))\""
                    }.joined(separator: ",")
                    out += "}"
                }
                out += " " + formatValue(sample.value) + "\n"
            }
        }
        return out
    }

    /// Label values: backslash, double quote and line feed are escaped; everything else is UTF-8 as is.
    public static func escapeLabelValue(_ value: String) -> String {
        escape(value, quotes: true)
    }

    /// HELP text: backslash and line feed are escaped (quotes are not, in HELP).
    public static func escapeHelp(_ text: String) -> String {
        escape(text, quotes: false)
    }

    private static func escape(_ text: String, quotes: Bool) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\\": out += "\\\\"
            case "\"" where quotes: out += "\\\""
            case "\n": out += "\\n"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// Go's float syntax as Prometheus parses it: "+Inf", "-Inf", "NaN", else a plain decimal
    /// (integers without a point, fractions to microseconds, never an exponent).
    public static func formatValue(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        return NumberText.fixed(value, decimals: 6)
    }

    /// [a-zA-Z_:][a-zA-Z0-9_:]*
    public static func isValidMetricName(_ name: String) -> Bool {
        isName(name, extra: ":")
    }

    /// [a-zA-Z_][a-zA-Z0-9_]*, and not starting with "__" (reserved).
    public static func isValidLabelName(_ name: String) -> Bool {
        isName(name, extra: "") && !name.hasPrefix("__")
    }

    private static func isName(_ name: String, extra: String) -> Bool {
        guard let first = name.unicodeScalars.first else { return false }
        func letter(_ c: Unicode.Scalar) -> Bool {
            (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || c == "_" || extra.unicodeScalars.contains(c)
        }
        return letter(first) && name.unicodeScalars.allSatisfy { letter($0) || ($0 >= "0" && $0 <= "9") }
    }
}
