import FoundationEssentials
import PostgresClient

/// What the catalog says about a profile's table, and whether the profile fits it. Read once at
/// start: a profile naming a missing column, or a status word that is not one of the enum's
/// labels, stops every command with exit 78 before anything is claimed or written.
public struct ProfileCatalog: Sendable, Equatable {
    public struct Column: Sendable, Equatable {
        public var name: String
        /// As SQL spells it: "text", "jsonb", "bigint", "timestamp with time zone", "job_status".
        public var type: String
        /// The labels when the type is an enum, else nil.
        public var enumLabels: [String]?
        /// A new row gets a value without being given one: a default, or an identity.
        public var hasDefault: Bool

        public init(name: String, type: String, enumLabels: [String]? = nil, hasDefault: Bool = false) {
            self.name = name
            self.type = type
            self.enumLabels = enumLabels
            self.hasDefault = hasDefault
        }
    }

    /// The table's columns in order; empty when the table does not exist.
    public var columns: [Column]

    public init(columns: [Column]) {
        self.columns = columns
    }

    /// Reads the columns of `profile`'s table.
    public static func read(_ profile: TableProfile, connection: Connection) throws(PostgresError) -> ProfileCatalog {
        let parts = profile.table.split(separator: ".", maxSplits: 1).map(String.init)
        let (schema, table): (String?, String) = parts.count == 2 ? (parts[0], parts[1]) : (nil, profile.table)
        // An enum with no labels reads as no enum: it could hold none of the status words anyway.
        let columns = try connection.query(ProfileQueries.columns, [schema, table]).values.map { row in
            Column(name: row[0] ?? "", type: row[1] ?? "",
                   enumLabels: row[2].flatMap { try? JSONDecoder().decode([String].self, from: Data($0.utf8)) },
                   hasDefault: row[3] == "t")
        }
        return ProfileCatalog(columns: columns)
    }

    /// The first way `profile` does not fit this table, as one line that says what to fix; nil
    /// when it fits.
    public func problem(with profile: TableProfile) -> String? {
        guard !columns.isEmpty else {
            return "table profile: table \(profile.table) does not exist (or this role cannot see it)"
        }
        var byName: [String: Column] = [:]
        for column in columns { byName[column.name] = column }
        for name in profile.columns where byName[name] == nil {
            return "table profile: \(profile.table) has no column \(name)"
        }
        let status = byName[profile.status.column]!
        if let labels = status.enumLabels {
            for word in profile.status.words where !labels.contains(word) {
                return "table profile: status word \"\(word)\" is not a label of \(status.type) (labels: \(labels.joined(separator: ", ")))"
            }
        } else if !Self.isText(status.type) {
            return "table profile: status column \(status.name) is \(status.type); it must be text or an enum"
        }
        if case .column(let name) = profile.payload, let column = byName[name], !["jsonb", "json"].contains(column.type) {
            return "table profile: payload column \(name) is \(column.type); it must be jsonb (or list columns: {\"columns\": [...]})"
        }
        if let name = profile.result, let column = byName[name], column.type != "jsonb" {
            return "table profile: result column \(name) is \(column.type); it must be jsonb"
        }
        if let name = profile.error, let column = byName[name], !Self.isText(column.type) {
            return "table profile: error column \(name) is \(column.type); it must be text"
        }
        let stamps = [("createdAt", profile.createdAt), ("updatedAt", profile.updatedAt),
                      ("startedAt", profile.startedAt), ("completedAt", profile.completedAt)]
        for case let (key, stamp?) in stamps {
            let type = byName[stamp.column]!.type
            if stamp.epochMillis, type != "bigint" {
                return "table profile: \(key) column \(stamp.column) is \(type); epoch milliseconds need bigint"
            }
            if !stamp.epochMillis, !type.hasPrefix("timestamp") {
                return "table profile: \(key) column \(stamp.column) is \(type); say {\"column\": \"\(stamp.column)\", \"epochMillis\": true} for epoch milliseconds, else it must be timestamptz"
            }
        }
        return nil
    }

    private static func isText(_ type: String) -> Bool {
        type == "text" || type.hasPrefix("character varying") || type.hasPrefix("character(") || type == "character"
    }
}
