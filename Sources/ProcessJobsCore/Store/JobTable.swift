import PostgresClient

/// The job table a run serves: job_queue, or a profile's table checked against the catalog
/// (ProfileCatalog, TableSQL.make) once at start.
public struct JobTable: Sendable, Equatable {
    let sql: TableSQL

    public var profile: TableProfile { sql.profile }

    public static let jobQueue = JobTable(sql: .jobQueue)

    /// What `enqueue` cannot put into this table, as one line; nil when it can: a type other
    /// than a fixed one, a user where the table keeps none, a payload field that is not one of
    /// the payload's columns.
    public func enqueueProblem(_ request: EnqueueRequest) -> String? {
        let profile = sql.profile
        if case .fixed(let type) = profile.jobType, request.type != type {
            return "every job of \(profile.table) is of type \(type) (the profile's fixed type), not \(request.type)"
        }
        if request.userId != nil && profile.user == nil {
            return "\(profile.table) keeps no user (the profile's user is null): drop --user-id"
        }
        if case .columns(let names) = profile.payload, let fields = request.payloadFields {
            for field in fields.sorted() where !names.contains(field) {
                return "--payload field \(field) is not one of \(profile.table)'s payload columns (\(names.joined(separator: ", ")))"
            }
        }
        return nil
    }

    /// Why `enqueue` cannot make a new row's id, as one line (exit 78: the table needs its app or
    /// a default); nil when the table's default makes it or process-jobs generates a uuid.
    public var newIDProblem: String? {
        guard sql.newID == .cannotGenerate else { return nil }
        return "\(profile.table).\(profile.id) is \(sql.idType) with no default: enqueue makes uuid or text ids only; give the column a default (or an identity) or insert the job from its app"
    }

    /// The channel its notify trigger sends on and `run --listen` LISTENs to.
    public var channel: String { sql.channel }

    /// The id column is a uuid (job_queue's is): ids given on the command line must be UUIDs.
    public var idIsUUID: Bool { sql.idType == "uuid" }

    /// `profile`'s table as the catalog has it, or the one-line configuration error (exit 78)
    /// naming what does not fit. job_queue's own profile asks nothing of the catalog.
    /// `requireAdded`: the columns `migrate --table-profile` adds must be there.
    public static func check(_ profile: TableProfile, connection: Connection,
                             requireAdded: Bool = true) throws -> JobTable {
        if profile == .jobQueue { return .jobQueue }
        let catalog = try ProfileCatalog.read(profile, connection: connection)
        return JobTable(sql: try TableSQL.make(profile, catalog: catalog, requireAdded: requireAdded).get())
    }
}
