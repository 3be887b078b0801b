import FoundationEssentials

/// How a job table that process-jobs did not create maps onto its concepts (--table-profile):
/// which column is the id, the job type, the payload, the status and its words, where answers
/// and errors go. Without a profile the run serves job_queue (`TableProfile.jobQueue`).
/// Decoded with Foundation's JSONDecoder, only when a profile is given: the idle run never pays
/// for it. Names here are checked for shape only; the catalog check (ProfileCatalog) says whether
/// the table has them.
public struct TableProfile: Sendable, Equatable {
    /// A timestamp column: timestamptz, or bigint epoch milliseconds.
    public struct Timestamp: Sendable, Equatable {
        public var column: String
        public var epochMillis: Bool

        public init(_ column: String, epochMillis: Bool = false) {
            self.column = column
            self.epochMillis = epochMillis
        }
    }

    public enum JobType: Sendable, Equatable {
        /// The type is this column's value.
        case column(String)
        /// Every row has this type.
        case fixed(String)
    }

    public enum Payload: Sendable, Equatable {
        /// One jsonb column, sent as it is.
        case column(String)
        /// These columns, sent as one JSON object keyed by column name.
        case columns([String])
    }

    /// The status column and the table's word for each of the four states (an enum's labels
    /// when the column is an enum).
    public struct Status: Sendable, Equatable {
        public var column: String
        public var pending: String
        public var processing: String
        public var completed: String
        public var failed: String

        public init(column: String, pending: String, processing: String, completed: String, failed: String) {
            self.column = column
            self.pending = pending
            self.processing = processing
            self.completed = completed
            self.failed = failed
        }

        public var words: [String] { [pending, processing, completed, failed] }
    }

    /// The table, optionally schema-qualified ("public.jobs").
    public var table: String
    public var id: String
    public var jobType: JobType
    public var payload: Payload
    public var status: Status
    /// Text column for the error of a failed attempt.
    public var error: String?
    /// jsonb column for the app's JSON answer.
    public var result: String?
    /// Top-level fields of a JSON answer copied into columns: answer field → column.
    public var resultColumns: [String: String]
    /// The user column for fair shares and the body's userId; nil: every job is one group.
    public var user: String?
    public var createdAt: Timestamp
    public var updatedAt: Timestamp?
    public var startedAt: Timestamp?
    public var completedAt: Timestamp?

    /// The Edge Function's table, as process-jobs serves it with no profile.
    public static let jobQueue = TableProfile(
        table: "job_queue", id: "id", jobType: .column("job_type"), payload: .column("payload"),
        status: Status(column: "status", pending: "pending", processing: "processing", completed: "completed", failed: "failed"),
        error: "error_message", result: "result", resultColumns: [:], user: "user_id",
        createdAt: Timestamp("created_at"), updatedAt: Timestamp("updated_at"), startedAt: Timestamp("processed_at"),
        completedAt: Timestamp("completed_at"))

    public init(table: String, id: String, jobType: JobType, payload: Payload, status: Status, error: String?,
                result: String?, resultColumns: [String: String], user: String?, createdAt: Timestamp,
                updatedAt: Timestamp?, startedAt: Timestamp?, completedAt: Timestamp?) {
        self.table = table
        self.id = id
        self.jobType = jobType
        self.payload = payload
        self.status = status
        self.error = error
        self.result = result
        self.resultColumns = resultColumns
        self.user = user
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.startedAt = startedAt
        self.completedAt = completedAt
    }

    /// The profile in `bytes` (a profile file), or a one-line configuration error (exit 78)
    /// naming what is wrong and where.
    public static func decode(_ bytes: [UInt8], source: String) throws(ConfigError) -> TableProfile {
        let profile: TableProfile
        do {
            profile = try JSONDecoder().decode(ProfileFile.self, from: Data(bytes)).profile
        } catch let error as ProfileFile.Invalid {
            throw .configuration("table profile \(source): \(error.message)")
        } catch let error as DecodingError {
            throw .configuration("table profile \(source): \(Self.describe(error))")
        } catch {
            throw .configuration("table profile \(source): not valid JSON")
        }
        if let problem = profile.shapeProblem {
            throw .configuration("table profile \(source): \(problem)")
        }
        return profile
    }

    /// Every column the profile names, each once, in a stable order (for the catalog check).
    public var columns: [String] {
        var names = [id, status.column]
        if case .column(let name) = jobType { names.append(name) }
        switch payload {
        case .column(let name): names.append(name)
        case .columns(let list): names += list
        }
        names += [error, result, user].compactMap { $0 }
        names += resultColumns.keys.sorted().compactMap { resultColumns[$0] }
        names += [createdAt, updatedAt, startedAt, completedAt].compactMap { $0?.column }
        var seen = Set<String>()
        return names.filter { seen.insert($0).inserted }
    }

    /// What is wrong with the profile's shape, before any database is asked; nil when nothing.
    var shapeProblem: String? {
        for name in [table] + columns where !Self.isIdentifier(name) {
            return "\(Self.quoted(name)) is not a usable name (1 to 63 bytes, no NUL, no leading or trailing space)"
        }
        if table.split(separator: ".", omittingEmptySubsequences: false).count > 2 {
            return "\"table\" is schema.table at most, not \(Self.quoted(table))"
        }
        let words = status.words
        if let empty = words.first(where: \.isEmpty) { return "a status word is empty (\(Self.quoted(empty)))" }
        if Set(words).count != words.count { return "the four status words must differ: \(words.joined(separator: ", "))" }
        if case .fixed(let type) = jobType, type.isEmpty { return "\"jobType\": {\"fixed\": …} needs a type name" }
        if case .columns(let list) = payload {
            if list.isEmpty { return "\"payload\": {\"columns\": […]} needs at least one column" }
            if Set(list).count != list.count { return "\"payload\" names a column twice" }
        }
        let written = [status.column, error, result].compactMap { $0 } + Array(resultColumns.values)
        if Set(written).count != written.count {
            return "status, error, result and resultColumns must be different columns"
        }
        if written.contains(id) { return "the id column \(Self.quoted(id)) cannot also be written" }
        return nil
    }

    static func isIdentifier(_ name: String) -> Bool {
        let bytes = name.utf8.count
        return bytes >= 1 && bytes <= 63 && !name.contains("\0") && name.first != " " && name.last != " "
    }

    private static func quoted(_ text: String) -> String { "\"\(String(text.prefix(80)))\"" }

    private static func describe(_ error: DecodingError) -> String {
        func path(_ context: DecodingError.Context) -> String {
            let keys = context.codingPath.map(\.stringValue).filter { !$0.isEmpty }
            return keys.isEmpty ? "the top level" : "\"" + keys.joined(separator: ".") + "\""
        }
        switch error {
        case .keyNotFound(let key, let context):
            let at = context.codingPath.isEmpty ? "" : " in \(path(context))"
            return "\"\(key.stringValue)\" is missing\(at)"
        case .typeMismatch(_, let context), .valueNotFound(_, let context):
            return "\(path(context)) has the wrong type: \(context.debugDescription)"
        case .dataCorrupted(let context):
            return context.codingPath.isEmpty ? "not valid JSON" : "\(path(context)): \(context.debugDescription)"
        @unknown default:
            return "not a table profile"
        }
    }
}

/// The file's JSON, strict about keys: a misspelt key is an error, not a silent default.
private struct ProfileFile: Decodable {
    let profile: TableProfile

    struct Invalid: Error { let message: String }

    struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(_ string: String) { stringValue = string }
        init?(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    static let topKeys: Set<String> = ["table", "id", "jobType", "payload", "status", "error", "result", "resultColumns",
                                       "user", "createdAt", "updatedAt", "startedAt", "completedAt"]

    init(from decoder: any Decoder) throws {
        let object = try decoder.container(keyedBy: Key.self)
        try Self.refuseUnknown(object, allowed: Self.topKeys, in: nil)
        func text(_ name: String) throws -> String { try object.decode(String.self, forKey: Key(name)) }
        func optionalText(_ name: String) throws -> String? { try object.decodeIfPresent(String.self, forKey: Key(name)) }
        func timestamp(_ name: String) throws -> TableProfile.Timestamp? {
            guard object.contains(Key(name)), try !object.decodeNil(forKey: Key(name)) else { return nil }
            if let column = try? object.decode(String.self, forKey: Key(name)) { return .init(column) }
            let nested = try object.nestedContainer(keyedBy: Key.self, forKey: Key(name))
            try Self.refuseUnknown(nested, allowed: ["column", "epochMillis"], in: name)
            return .init(try nested.decode(String.self, forKey: Key("column")),
                         epochMillis: try nested.decodeIfPresent(Bool.self, forKey: Key("epochMillis")) ?? false)
        }

        let jobTypeObject = try object.nestedContainer(keyedBy: Key.self, forKey: Key("jobType"))
        try Self.refuseUnknown(jobTypeObject, allowed: ["column", "fixed"], in: "jobType")
        let jobType: TableProfile.JobType
        switch (try jobTypeObject.decodeIfPresent(String.self, forKey: Key("column")),
                try jobTypeObject.decodeIfPresent(String.self, forKey: Key("fixed"))) {
        case (let column?, nil): jobType = .column(column)
        case (nil, let fixed?): jobType = .fixed(fixed)
        default: throw Invalid(message: "\"jobType\" is {\"column\": NAME} or {\"fixed\": TYPE}")
        }

        let payloadObject = try object.nestedContainer(keyedBy: Key.self, forKey: Key("payload"))
        try Self.refuseUnknown(payloadObject, allowed: ["column", "columns"], in: "payload")
        let payload: TableProfile.Payload
        switch (try payloadObject.decodeIfPresent(String.self, forKey: Key("column")),
                try payloadObject.decodeIfPresent([String].self, forKey: Key("columns"))) {
        case (let column?, nil): payload = .column(column)
        case (nil, let columns?): payload = .columns(columns)
        default: throw Invalid(message: "\"payload\" is {\"column\": NAME} or {\"columns\": [NAME, …]}")
        }

        let statusObject = try object.nestedContainer(keyedBy: Key.self, forKey: Key("status"))
        try Self.refuseUnknown(statusObject, allowed: ["column", "pending", "processing", "completed", "failed"], in: "status")
        func word(_ name: String) throws -> String { try statusObject.decode(String.self, forKey: Key(name)) }
        let status = TableProfile.Status(column: try word("column"), pending: try word("pending"),
                                         processing: try word("processing"), completed: try word("completed"),
                                         failed: try word("failed"))

        guard let createdAt = try timestamp("createdAt") else {
            throw Invalid(message: "\"createdAt\" names the column that orders jobs oldest first; it cannot be null")
        }
        profile = TableProfile(
            table: try text("table"), id: try text("id"), jobType: jobType, payload: payload, status: status,
            error: try optionalText("error"), result: try optionalText("result"),
            resultColumns: try object.decodeIfPresent([String: String].self, forKey: Key("resultColumns")) ?? [:],
            user: try optionalText("user"), createdAt: createdAt, updatedAt: try timestamp("updatedAt"),
            startedAt: try timestamp("startedAt"), completedAt: try timestamp("completedAt"))
    }

    private static func refuseUnknown(_ object: KeyedDecodingContainer<Key>, allowed: Set<String>, in parent: String?) throws {
        for key in object.allKeys where !allowed.contains(key.stringValue) {
            let place = parent.map { " in \"\($0)\"" } ?? ""
            throw Invalid(message: "unknown key \"\(key.stringValue)\"\(place) (known: \(allowed.sorted().joined(separator: ", ")))")
        }
    }
}
