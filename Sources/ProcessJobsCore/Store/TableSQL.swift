/// A job table as the run's statements spell it: every name and expression Queries needs, made
/// once from a table profile after the catalog check. Names are quoted identifiers (a profile
/// may name anything), status words are literals of the column's own type (an enum's labels
/// need a cast where a CASE chooses between them), and values stay parameters. job_queue's
/// own (`jobQueue`) spells names bare, so without a profile every statement is the released text.
struct TableSQL: Sendable, Equatable {
    /// The four states a job goes through, in the product's words.
    enum Word: String, Sendable, CaseIterable {
        case pending, processing, completed, failed
    }

    /// The table, schema-qualified when the profile says so.
    let table: String
    /// The id column's type (the outcome document names it).
    let idType: String
    /// The id column has a default or is an identity: a new row gets its id from the table.
    let idHasDefault: Bool
    let profile: TableProfile
    /// Bare names (job_queue, whose names are fixed and plain) or quoted ones.
    private let quoting: Bool
    /// The status column's type when it is an enum, for the words' casts.
    private let statusType: String?
    /// The payload column is json, not jsonb.
    private let payloadIsJSON: Bool
    /// The user column is not text (uuid in Supabase templates): read as text.
    private let userNeedsCast: Bool
    /// resultColumns' columns that are jsonb (the others are text).
    private let jsonResultColumns: Set<String>

    static let jobQueue = TableSQL(profile: .jobQueue, quoting: false, idType: "uuid", idHasDefault: true, statusType: nil,
                                   payloadIsJSON: false, userNeedsCast: false, jsonResultColumns: [])

    /// The columns the run adds to a profile's table (`migrate --table-profile`).
    static let addedColumns = ["run_at", "locked_until", "locked_by", "locked_at", "retry_count", "max_retries", "cancelled_at"]

    private init(profile: TableProfile, quoting: Bool, idType: String, idHasDefault: Bool, statusType: String?, payloadIsJSON: Bool,
                 userNeedsCast: Bool, jsonResultColumns: Set<String>) {
        self.profile = profile
        self.quoting = quoting
        self.idType = idType
        self.idHasDefault = idHasDefault
        self.statusType = statusType
        self.payloadIsJSON = payloadIsJSON
        self.userNeedsCast = userNeedsCast
        self.jsonResultColumns = jsonResultColumns
        table = profile.table.split(separator: ".", maxSplits: 1)
            .map { quoting ? Self.quoted(String($0)) : String($0) }.joined(separator: ".")
    }

    /// The statements' spelling of `profile`'s table, or the one-line problem (exit 78) when the
    /// table does not fit: ProfileCatalog's checks, then what the statements need besides.
    /// `requireAdded`: the run's own columns must be there (`migrate` adds them).
    static func make(_ profile: TableProfile, catalog: ProfileCatalog, requireAdded: Bool = true) -> Result<TableSQL, ConfigError> {
        if profile == .jobQueue { return .success(.jobQueue) }
        if let problem = catalog.problem(with: profile) { return .failure(.configuration(problem)) }
        var types: [String: ProfileCatalog.Column] = [:]
        for column in catalog.columns { types[column.name] = column }
        if requireAdded, let missing = addedColumns.first(where: { types[$0] == nil }) {
            return .failure(.configuration(
                "table profile: \(profile.table) has no column \(missing) (run process-jobs migrate --table-profile FILE)"))
        }
        var texts = [profile.table] + profile.columns + profile.status.words + Array(profile.resultColumns.keys)
        if case .fixed(let type) = profile.jobType { texts.append(type) }
        // A statement's text holds no $ but in parameter numbers (CompactStatement), and no backslash
        // that a server without standard_conforming_strings would read as an escape.
        if let bad = texts.first(where: { $0.contains("$") || $0.contains("\\") }) {
            return .failure(.configuration("table profile: \"\(bad)\" contains $ or \\, which process-jobs does not accept in a name or word"))
        }
        for (field, column) in profile.resultColumns.sorted(by: { $0.key < $1.key }) {
            let type = types[column]?.type ?? ""
            guard type == "jsonb" || type == "text" else {
                return .failure(.configuration(
                    "table profile: resultColumns \(field) goes to \(column), which is \(type); it must be text or jsonb"))
            }
        }
        let status = types[profile.status.column]
        var payloadIsJSON = false
        if case .column(let name) = profile.payload { payloadIsJSON = types[name]?.type == "json" }
        return .success(TableSQL(
            profile: profile, quoting: true, idType: types[profile.id]?.type ?? "text",
            idHasDefault: types[profile.id]?.hasDefault ?? false,
            statusType: status?.enumLabels == nil ? nil : status?.type, payloadIsJSON: payloadIsJSON,
            userNeedsCast: profile.user.map { types[$0]?.type != "text" } ?? false,
            jsonResultColumns: Set(profile.resultColumns.values.filter { types[$0]?.type == "jsonb" })))
    }

    /// `profile`'s table spelt without the catalog (for the migration, which needs no enum cast:
    /// a partial index's predicate is stored with the label already of the column's type).
    static func unchecked(_ profile: TableProfile) -> TableSQL {
        TableSQL(profile: profile, quoting: true, idType: "text", idHasDefault: true, statusType: nil, payloadIsJSON: false,
                 userNeedsCast: false, jsonResultColumns: [])
    }

    // MARK: Names

    /// The table's name without its schema, cut to 40 bytes: the stem of the indexes, trigger
    /// and function process-jobs adds to it, whose names stay within 63 bytes.
    var stem: String {
        let base = profile.table.split(separator: ".", maxSplits: 1).last.map(String.init) ?? profile.table
        var stem = ""
        for character in base where stem.utf8.count + character.utf8.count <= 40 { stem.append(character) }
        return stem
    }

    /// A name process-jobs adds to the table (index, trigger, function), in the table's schema.
    func added(_ suffix: String) -> (name: String, reference: String) {
        let parts = profile.table.split(separator: ".", maxSplits: 1).map(String.init)
        let name = stem + suffix
        return (name, (parts.count == 2 ? Self.quoted(parts[0]) + "." : "") + Self.quoted(name))
    }

    /// The channel the table's notify trigger sends on and its listeners LISTEN to. job_queue
    /// keeps `process_jobs`, as released; a profile's table has its own, `process_jobs:STEM`,
    /// so that no listener wakes for another table's jobs (two tables sharing a 40-byte stem
    /// would share a channel: a wake that finds nothing, never a missed job).
    var channel: String {
        profile == .jobQueue ? Listener.channel : Listener.channel + ":" + stem
    }

    /// A column of the table, by `alias` ("" for none, as in SET).
    func column(_ alias: String, _ name: String) -> String {
        (alias.isEmpty ? "" : alias + ".") + (quoting ? Self.quoted(name) : name)
    }

    /// `expression`, named `name` in a select list (no alias when it already has that name).
    private func named(_ expression: String, _ name: String) -> String {
        quoting ? expression + " AS " + name : expression
    }

    func id(_ alias: String) -> String { column(alias, profile.id) }

    /// What `enqueue` gives a new row's id.
    enum NewID: Equatable {
        /// The table's default (or identity) makes it.
        case tableDefault
        /// This expression makes it: a fresh uuid, as the column's type.
        case generated(String)
        /// The column has no default and is of a type process-jobs does not make ids of.
        case cannotGenerate
    }

    /// A uuid for a uuid column, its text for a text one (the operations store names its ids so);
    /// any other type without a default (an integer with no sequence) needs its app.
    var newID: NewID {
        if idHasDefault { return .tableDefault }
        if idType == "uuid" { return .generated("gen_random_uuid()") }
        let holdsUUIDText = switch idType {
        case "text", "character varying": true
        default: idType.hasPrefix("character varying(") && (Int(idType.dropFirst(18).dropLast()) ?? 0) >= 36
        }
        return holdsUUIDText ? .generated("gen_random_uuid()::text") : .cannotGenerate
    }
    func idAs(_ alias: String) -> String { named(id(alias), "id") }

    /// The tick's rows carry ids as job_queue's uuid, or as text (a profile's id may be any type,
    /// and failure jobs' uuids come in the same column).
    var rowIDType: String { quoting ? "text" : "uuid" }
    var rowID: String { quoting ? "id::text" : "id" }

    /// The job type: a column's value, or the profile's fixed type as a text literal.
    func jobType(_ alias: String) -> String {
        switch profile.jobType {
        case .column(let name): column(alias, name)
        case .fixed(let type): Self.literal(type) + "::text"
        }
    }

    func jobTypeAs(_ alias: String) -> String { named(jobType(alias), "job_type") }

    func status(_ alias: String) -> String { column(alias, profile.status.column) }

    /// The table's word for `word`, as a literal of the status column's type.
    func word(_ word: Word) -> String {
        let text: String = switch word {
        case .pending: profile.status.pending
        case .processing: profile.status.processing
        case .completed: profile.status.completed
        case .failed: profile.status.failed
        }
        return Self.literal(text) + (statusType.map { "::" + $0 } ?? "")
    }

    /// The status in the product's words (text; NULL for a word outside the four).
    func statusText(_ alias: String) -> String {
        guard quoting else { return status(alias) }
        let cases = Word.allCases.map { "WHEN \(word($0)) THEN '\($0.rawValue)'" }.joined(separator: " ")
        return "CASE \(status(alias)) \(cases) END"
    }

    func statusAs(_ alias: String) -> String { named(statusText(alias), "status") }

    /// The user as text; NULL::text when the table has none.
    func user(_ alias: String) -> String {
        guard let name = profile.user else { return "NULL::text" }
        return column(alias, name) + (userNeedsCast ? "::text" : "")
    }

    func userAs(_ alias: String) -> String { named(user(alias), "user_id") }

    /// The job's payload as jsonb: its column, or the listed columns as one object.
    func payload(_ alias: String) -> String {
        switch profile.payload {
        case .column(let name):
            return column(alias, name) + (payloadIsJSON ? "::jsonb" : "")
        case .columns(let names):
            return "jsonb_build_object(" + names.map { "\(Self.literal($0)), \(column(alias, $0))" }.joined(separator: ", ") + ")"
        }
    }

    func payloadAs(_ alias: String) -> String { named(payload(alias), "payload") }

    /// A summary's grouping by type and status (a profile's are expressions).
    var groupByTypeAndStatus: String { quoting ? "1, 2" : "job_type, status" }

    /// When the run claimed the job (its fence): job_queue's processed_at, a profile's locked_at.
    func claimedAt(_ alias: String) -> String { column(alias, quoting ? "locked_at" : "processed_at") }
    func claimedAtAs(_ alias: String) -> String { named(claimedAt(alias), "processed_at") }

    /// created_at as stored, for ordering (epoch milliseconds order as the times do).
    func createdOrder(_ alias: String) -> String { column(alias, profile.createdAt.column) }
    func createdOrderAs(_ alias: String) -> String { named(createdOrder(alias), "created_at") }

    /// created_at as a timestamptz.
    func createdTime(_ alias: String) -> String { time(alias, profile.createdAt) }

    /// When a finished job finished, as a timestamptz: the first of its completed, updated,
    /// started and created times that it has (prune's cutoff).
    var finishedTime: String {
        let stamps = [profile.completedAt, profile.updatedAt, profile.startedAt, profile.createdAt].compactMap { $0 }
        return "coalesce(" + stamps.map { time("", $0) }.joined(separator: ", ") + ")"
    }

    /// The error column, or nil when the table keeps no error.
    func error(_ alias: String) -> String? { profile.error.map { column(alias, $0) } }
    func result(_ alias: String) -> String? { profile.result.map { column(alias, $0) } }

    // MARK: Writes

    /// `, updated_at = now()` (in the column's kind), or nothing when the table has no such column.
    var touch: String {
        profile.updatedAt.map { ", " + column("", $0.column) + " = " + now($0) } ?? ""
    }

    /// What the claim writes besides the lease: a profile's startedAt.
    var claimStarted: String {
        guard quoting, let started = profile.startedAt else { return "" }
        return ", " + column("", started.column) + " = " + now(started)
    }

    /// The `SET` lines of a finished attempt for completedAt (`finished`: the condition), or "".
    func completedSet(_ alias: String, when finished: String, indent: String) -> String {
        guard let completed = profile.completedAt else { return "" }
        let name = column("", completed.column)
        return "\(name) = CASE WHEN \(finished) THEN \(now(completed))\n\(indent)ELSE \(column(alias, completed.column)) END,\n"
    }

    /// The SET lines copying top-level fields of a complete answer (`result`, jsonb) into columns.
    func resultColumnSets(_ alias: String, action: String, result: String, indent: String) -> String {
        profile.resultColumns.sorted { $0.key < $1.key }.map { field, name in
            let value = jsonResultColumns.contains(name) ? "\(result)->\(Self.literal(field))" : "\(result)->>\(Self.literal(field))"
            return "\(indent)\(column("", name)) = CASE WHEN \(action) = 'complete' AND \(result) ? \(Self.literal(field)) THEN \(value) ELSE \(column(alias, name)) END,\n"
        }.joined()
    }

    /// now() in the kind of `stamp`.
    func now(_ stamp: TableProfile.Timestamp) -> String {
        stamp.epochMillis ? "(extract(epoch FROM now()) * 1000)::bigint" : "now()"
    }

    /// `stamp` of the row as a timestamptz.
    func time(_ alias: String, _ stamp: TableProfile.Timestamp) -> String {
        stamp.epochMillis ? "to_timestamp(\(column(alias, stamp.column)) / 1000.0)" : column(alias, stamp.column)
    }

    // MARK: Quoting

    /// A double-quoted identifier (quotes inside doubled).
    static func quoted(_ name: String) -> String {
        "\"" + name.replacing("\"", with: "\"\"") + "\""
    }

    /// A single-quoted string literal (standard_conforming_strings: only quotes are doubled).
    static func literal(_ text: String) -> String {
        "'" + text.replacing("'", with: "''") + "'"
    }
}
