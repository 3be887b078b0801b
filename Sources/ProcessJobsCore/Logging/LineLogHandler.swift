#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Logging

/// One line per event on stderr: readable text on a terminal, JSON lines otherwise. Under
/// journald each line starts with its syslog priority ("<3>") so `journalctl -p err` works.
public struct LineLogHandler: LogHandler {
    public enum Format: String, Sendable, CaseIterable {
        case text, json
    }

    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    private let format: Format
    private let journald: Bool
    private let timestamps: Bool
    private let sink: LineSink

    public init(format: Format, level: Logger.Level, journald: Bool, sink: LineSink = .standardError) {
        self.format = format
        self.logLevel = level
        self.journald = journald
        // journald stamps every line itself.
        self.timestamps = !journald
        self.sink = sink
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(level: Logger.Level, message: Logger.Message, metadata: Logger.Metadata?,
                    source: String, file: String, function: String, line: UInt) {
        var fields = metadata ?? [:]
        if !self.metadata.isEmpty { fields.merge(self.metadata) { current, _ in current } }
        // The usual fields in their fixed order, then any others alphabetically: no sort per line.
        var keys = LineLogHandler.leading.filter { fields[$0] != nil }
        if keys.count < fields.count {
            keys += fields.keys.filter { LineLogHandler.rank[$0] == nil }.sorted()
        }
        var text = journald ? "<\(LineLogHandler.priority(level))>" : ""
        switch format {
        case .json:
            text += "{"
            if timestamps { text += "\"ts\":\"\(LineLogHandler.timestamp())\"," }
            text += "\"level\":\"\(LineLogHandler.name(level))\",\"msg\":\(JSONText.quote(message.description))"
            for key in keys {
                text += ",\(JSONText.quote(key)):\(LineLogHandler.json(fields[key]!))"
            }
            text += "}"
        case .text:
            if timestamps { text += LineLogHandler.timestamp() + " " }
            text += LineLogHandler.name(level).padding(to: 7) + message.description
            for key in keys {
                text += " \(key)=\(LineLogHandler.plain(fields[key]!))"
            }
        }
        sink.write(text + "\n")
    }

    /// The fields every job line has come first, in this order; the rest alphabetically.
    private static let leading = ["id", "type", "attempt", "http", "ms", "outcome", "retry_in", "retry_count", "error",
                                  "claimed", "completed", "retried", "failed", "released", "rescued", "lease_lost",
                                  "seconds", "jobs_per_second", "round_trips", "stop", "next_due_in"]

    private static let rank = Dictionary(uniqueKeysWithValues: leading.enumerated().map { ($1, $0) })

    static func name(_ level: Logger.Level) -> String {
        switch level {
        case .trace, .debug: "debug"
        case .info, .notice: "info"
        case .warning: "warning"
        case .error, .critical: "error"
        }
    }

    static func priority(_ level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: 7
        case .info: 6
        case .notice: 5
        case .warning: 4
        case .error: 3
        case .critical: 2
        }
    }

    private static func json(_ value: Logger.Metadata.Value) -> String {
        switch value {
        case .string(let text): JSONText.quote(text)
        case .stringConvertible(let value):
            if let number = value as? Int { String(number) } else { JSONText.quote(value.description) }
        case .array(let items): "[" + items.map(json).joined(separator: ",") + "]"
        case .dictionary(let dict): "{" + dict.keys.sorted().map { JSONText.quote($0) + ":" + json(dict[$0]!) }.joined(separator: ",") + "}"
        }
    }

    private static func plain(_ value: Logger.Metadata.Value) -> String {
        let text = value.description
        let needsQuotes = text.isEmpty || text.contains(where: { $0 == " " || $0 == "\"" || $0 == "=" || $0.isNewline })
        return needsQuotes ? JSONText.quote(text) : text
    }

    /// UTC, second precision, RFC 3339.
    static func timestamp() -> String {
        TimeText.rfc3339(WallClock.now())
    }
}

/// Where log lines go: stderr by default. Each line is one write(2), so lines from concurrent
/// processes sharing a journal or file do not interleave.
public struct LineSink: Sendable {
    let descriptor: Int32
    /// Called before each line (the live progress line clears itself here).
    let before: (@Sendable () -> Void)?

    public static let standardError = LineSink(descriptor: 2, before: nil)
    public static let standardOutput = LineSink(descriptor: 1, before: nil)

    public init(descriptor: Int32, before: (@Sendable () -> Void)?) {
        self.descriptor = descriptor
        self.before = before
    }

    public func write(_ line: String) {
        before?()
        var bytes = Array(line.utf8)
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeMutableBytes { Glibc.write(descriptor, $0.baseAddress! + offset, $0.count - offset) }
            if written <= 0 { if errno == EINTR { continue } else { return } }
            offset += written
        }
    }
}

private extension String {
    func padding(to width: Int) -> String {
        count >= width ? self + " " : self + String(repeating: " ", count: width - count)
    }
}
