/// W3C Trace Context for one request: `traceparent: 00-<trace id>-<span id>-01`. The trace id
/// is the job's, the same on every attempt and derived from the job id alone, so the runner's
/// log line (`trace_id`) and the app's traces name the same trace without storing anything;
/// each attempt is a new span. The flag 01 (sampled) asks the app to record it.
public struct TraceContext: Sendable, Equatable {
    /// 32 lowercase hex digits, not all zero.
    public let traceID: String
    /// 16 lowercase hex digits, not all zero.
    public let spanID: String

    public init(jobID: String, span: UInt64) {
        traceID = Self.traceID(forJob: jobID)
        spanID = Self.hex(span == 0 ? 1 : span, digits: 16)
    }

    public var traceparent: String { "00-\(traceID)-\(spanID)-01" }

    /// A new span for an attempt: random, never zero (an all-zero span id is invalid).
    public static func newSpan() -> UInt64 {
        UInt64.random(in: 1...UInt64.max)
    }

    /// The job's trace id: a uuid's 32 hex digits, lowercased. Anything else (an id that is not a
    /// uuid, or the nil uuid, which the spec forbids) is hashed (FNV-1a, two lanes) into 32 digits.
    public static func traceID(forJob id: String) -> String {
        let digits = id.lowercased().filter { $0 != "-" }
        if digits.count == 32, digits.allSatisfy({ $0.isASCII && $0.isHexDigit }), digits.contains(where: { $0 != "0" }) {
            return digits
        }
        var high: UInt64 = 0xCBF2_9CE4_8422_2325
        var low: UInt64 = 0x8422_2325_CBF2_9CE4
        for byte in id.utf8 {
            high = (high ^ UInt64(byte)) &* 0x0000_0100_0000_01B3
            low = (low ^ UInt64(byte)) &* 0x0000_0100_0000_01B3
        }
        if high == 0 && low == 0 { low = 1 }
        return hex(high, digits: 16) + hex(low, digits: 16)
    }

    private static func hex(_ value: UInt64, digits: Int) -> String {
        let text = String(value, radix: 16)
        return String(repeating: "0", count: digits - text.count) + text
    }
}
