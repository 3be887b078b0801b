/// The run's statements for one job table, each made once: the probe and body texts at once, the
/// tick's text for a shape when a run first needs it. Listen mode keeps one for the process: each
/// burst is a JobStore of its own, and composing the tick again at every notified claim was most
/// of the client's time between a notification and its claim.
public final class TableStatements {
    let table: TableSQL
    let probe: String
    let smallBody: String
    let bodyChunks: String
    /// The tick texts made so far, one per shape (a run uses a few).
    private var ticks: [TickShape: CompactStatement] = [:]

    public init(_ table: JobTable = .jobQueue) {
        self.table = table.sql
        probe = Queries.probe(table.sql)
        smallBody = Queries.smallBody(table.sql)
        bodyChunks = Queries.bodyChunks(table.sql)
    }

    /// The tick statement of `shape`, renumbered to the parameters it uses.
    func tick(_ shape: TickShape) -> CompactStatement {
        if let known = ticks[shape] { return known }
        let made = CompactStatement(Queries.tick(shape, table))
        ticks[shape] = made
        return made
    }
}
