/// `process-jobs check`'s result: one line per check, ✓ passed, ✗ failed, ! warning (does not
/// fail), - skipped (an earlier check it needs failed). The exit code is the first failure's.
public struct CheckReport: Sendable {
    public enum State: Sendable, Equatable {
        case pass
        case fail(exitCode: Int32)
        case warn
        case skip
    }

    public struct Line: Sendable, Equatable {
        public var state: State
        public var name: String
        public var detail: String

        public init(_ state: State, _ name: String, _ detail: String) {
            self.state = state
            self.name = name
            self.detail = detail
        }
    }

    public private(set) var lines: [Line] = []

    public init() {}

    public mutating func add(_ state: State, _ name: String, _ detail: String) {
        lines.append(Line(state, name, detail))
    }

    /// 0 when nothing failed, else the exit code of the first failure.
    public var exitCode: Int32 {
        for line in lines {
            if case .fail(let code) = line.state { return code }
        }
        return 0
    }

    public var failures: Int {
        lines.filter { if case .fail = $0.state { true } else { false } }.count
    }

    public var warnings: Int { lines.filter { $0.state == .warn }.count }

    public func rendered() -> String {
        var out = ""
        for line in lines {
            let mark: String
            switch line.state {
            case .pass: mark = "✓"
            case .fail: mark = "✗"
            case .warn: mark = "!"
            case .skip: mark = "-"
            }
            let detail = TerminalText.escaped(line.detail.split(whereSeparator: \.isNewline).joined(separator: " "))
            out += "\(mark) \(TerminalText.escaped(line.name)): \(detail)\n"
        }
        let failures = self.failures, warnings = self.warnings
        if failures == 0 {
            out += warnings == 0 ? "all checks passed\n" : "all checks passed (\(warnings) warning\(warnings == 1 ? "" : "s"))\n"
        } else {
            out += "\(failures) check\(failures == 1 ? "" : "s") failed (exit \(exitCode))\n"
        }
        return out
    }
}
