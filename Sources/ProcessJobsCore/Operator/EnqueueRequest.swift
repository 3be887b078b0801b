import FoundationEssentials

/// A job to insert by hand (`process-jobs enqueue`), checked before it reaches the database:
/// the same columns the app writes, and a payload the run can send (a JSON object).
public struct EnqueueRequest: Sendable, Equatable {
    public let type: String
    /// The payload as given (valid JSON, an object); stored as jsonb, which normalises it.
    public let payload: String
    public let userId: String?
    /// Nil leaves the table's default (3).
    public let maxRetries: Int?
    /// Nil leaves the table's default (now()).
    public let runAt: RunAt?

    public struct Invalid: Error, CustomStringConvertible, Equatable {
        public let description: String
    }

    public init(type: String, payload: String, userId: String?, maxRetries: Int?, runAt: String?) throws(Invalid) {
        do {
            try Routes.checkType(type)
        } catch {
            throw Invalid(description: error.description)
        }
        try EnqueueRequest.checkPayload(payload)
        if let userId {
            guard !userId.isEmpty, !userId.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else {
                throw Invalid(description: "--user-id must be a non-empty id without control characters (the app's \"User\".id)")
            }
        }
        if let maxRetries {
            guard (0...1000).contains(maxRetries) else {
                throw Invalid(description: "--max-retries must be between 0 and 1000, not \(maxRetries)")
            }
        }
        do {
            self.runAt = try runAt.map { text throws(RunAt.Invalid) in try RunAt.parse(text) }
        } catch {
            throw Invalid(description: error.description)
        }
        self.type = type
        self.payload = payload
        self.userId = userId
        self.maxRetries = maxRetries
    }

    /// The payload object's top-level field names (nil when it is not an object).
    var payloadFields: [String]? {
        guard case .object(let fields)? = try? JSONDecoder().decode(JSONValue.self, from: Data(payload.utf8)) else { return nil }
        return Array(fields.keys)
    }

    /// The payload must be one JSON object that jsonb accepts: the run sends objects only.
    static func checkPayload(_ payload: String) throws(Invalid) {
        let bytes = Array(payload.utf8)
        let example = #"e.g. --payload '{"projectId":"p1","imageType":"main"}'"#
        guard JSONText.isValid(bytes),
              let value = try? JSONDecoder().decode(JSONValue.self, from: Data(bytes)) else {
            throw Invalid(description: "--payload is not valid JSON: give one JSON object, \(example)")
        }
        guard case .object = value else {
            throw Invalid(description: "--payload must be a JSON object (it is \(value.kindName)): the app reads its fields, \(example)")
        }
    }
}

extension JSONValue {
    /// "an array", "a string", ... for messages.
    var kindName: String {
        switch self {
        case .object: "an object"
        case .array: "an array"
        case .string: "a string"
        case .number: "a number"
        case .bool: "a boolean"
        case .null: "null"
        }
    }
}
