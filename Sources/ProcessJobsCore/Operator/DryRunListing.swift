/// `run --dry-run`: the jobs a run would claim now, where each would go, and what else it would do.
public struct DryRunListing: Sendable {
    public var jobs: [OperatorStore.DueJob]
    /// Job type to URL.
    public var targets: [String: String]
    /// Due jobs of the claimed types in all (the list may be cut).
    public var dueTotal: Int
    /// Expired leases the run would rescue first.
    public var expiredLeases: Int
    /// Pending jobs of types with no route (never claimed), by type.
    public var unrouted: [(type: String, pending: Int)]
    /// --once: the run stops after one claim of at most this many.
    public var onceLimit: Int?

    public init(jobs: [OperatorStore.DueJob], targets: [String: String], dueTotal: Int, expiredLeases: Int,
                unrouted: [(type: String, pending: Int)], onceLimit: Int?) {
        self.jobs = jobs
        self.targets = targets
        self.dueTotal = dueTotal
        self.expiredLeases = expiredLeases
        self.unrouted = unrouted
        self.onceLimit = onceLimit
    }

    public func rendered() -> String {
        var out = ""
        if jobs.isEmpty {
            out += "no job is due: a run now would claim nothing\n"
        } else {
            var table = TextTable(headers: ["ID", "TYPE", "ATTEMPT", "DUE", "TARGET"], alignments: [.left, .left, .right, .right, .left])
            for job in jobs {
                let target = job.payloadType == "object"
                    ? "POST " + (targets[job.type].map(RedactedURL.text) ?? "-")
                    : "(fails at once: payload is a JSON \(job.payloadType), not an object)"
                table.append([job.id, job.type, "\(job.attempt)/\(job.maxRetries + 1)", TimeText.age(job.dueSeconds) + " ago", target])
            }
            out += table.rendered()
            let would = onceLimit != nil ? "would claim \(jobs.count) job\(jobs.count == 1 ? "" : "s") (--once: one claim)"
                : "would claim \(dueTotal) due job\(dueTotal == 1 ? "" : "s")"
            out += "\n" + would
            if jobs.count < dueTotal && onceLimit == nil { out += ", the first \(jobs.count) listed" }
            out += "\n"
        }
        if expiredLeases > 0 {
            out += "would first rescue \(expiredLeases) expired lease\(expiredLeases == 1 ? "" : "s") (a failed attempt each; see `process-jobs status`)\n"
        }
        for (type, pending) in unrouted {
            out += "\(pending) pending job\(pending == 1 ? "" : "s") of type \(TerminalText.escaped(type)) would not be claimed: no route\n"
        }
        out += "dry run: nothing was claimed, sent or changed\n"
        return out
    }
}
