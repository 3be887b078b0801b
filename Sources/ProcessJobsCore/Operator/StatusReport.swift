/// What `process-jobs status` shows: the queue by job type, expired leases, types nobody
/// claims, the most frequent recent errors, the latest failures with their failure jobs, and
/// each route's shared flow-control state. Built from OperatorStore's reads; rendered as an
/// aligned table or as one JSON document (shape documented in docs/operating.md).
public struct StatusReport: Sendable {
    /// One job type's line.
    public struct TypeLine: Sendable, Equatable {
        public var type: String
        /// False when no route sends this type anywhere: its pending jobs are never claimed.
        public var routed: Bool
        public var pending = 0, processing = 0, completed = 0, failed = 0
        /// Rows whose status is none of the four (NULL, 'cancelled', 'PENDING'...): never claimed.
        public var other = 0
        public var due = 0
        public var oldestDueSeconds: Double?
        public var nextRetryAt: Double?
        public var expiredLeases = 0

        public init(type: String, routed: Bool) {
            self.type = type
            self.routed = routed
        }
    }

    /// The database's clock when the queue was read, Unix seconds.
    public var now: Double
    public var types: [TypeLine]
    public var expiredLeases: [OperatorStore.ExpiredLease]
    /// Total expired leases (the list above may be cut).
    public var expiredLeaseCount: Int
    public var topErrors: [OperatorStore.ErrorCount]
    /// The window of `topErrors` and `recentFailures`, seconds.
    public var errorWindow: Double
    /// The latest failed jobs in that window, newest first, with their failure jobs (--on-failure).
    public var recentFailures: [OperatorStore.RecentFailure]
    /// Each route's state as every runner shares it: live leases, how far ahead its rate's
    /// starts are booked, its pause, and its users with the most due jobs. The limits themselves
    /// are the runners' flags (runners may disagree), so they are not shown here.
    public var routes: [OperatorStore.RouteState]

    public init(rows: [OperatorStore.QueueRow], now: Double, routedTypes: Set<String>,
                expiredLeases: [OperatorStore.ExpiredLease], topErrors: [OperatorStore.ErrorCount],
                errorWindow: Double = 86_400, recentFailures: [OperatorStore.RecentFailure] = [],
                routes: [OperatorStore.RouteState] = []) {
        var lines: [String: TypeLine] = [:]
        for type in routedTypes { lines[type] = TypeLine(type: type, routed: true) }
        for row in rows {
            var line = lines[row.type] ?? TypeLine(type: row.type, routed: routedTypes.contains(row.type))
            switch row.status {
            case "pending": line.pending += row.jobs
            case "processing": line.processing += row.jobs
            case "completed": line.completed += row.jobs
            case "failed": line.failed += row.jobs
            default: line.other += row.jobs
            }
            line.due += row.due
            if let oldest = row.oldestDueSeconds { line.oldestDueSeconds = max(line.oldestDueSeconds ?? oldest, oldest) }
            if let next = row.nextRetryAt { line.nextRetryAt = min(line.nextRetryAt ?? next, next) }
            line.expiredLeases += row.expiredLeases
            lines[row.type] = line
        }
        self.now = now
        self.types = lines.values.sorted { $0.type < $1.type }
        self.expiredLeases = expiredLeases
        self.expiredLeaseCount = self.types.reduce(0) { $0 + $1.expiredLeases }
        self.topErrors = topErrors
        self.errorWindow = errorWindow
        self.recentFailures = recentFailures
        self.routes = routes
    }

    /// Seconds from now until the route's rate has no start booked (0: a start may go now, as
    /// many as the runners' burst).
    func rateBookedSeconds(_ route: OperatorStore.RouteState) -> Double {
        max(0, (route.rateBookedUntil ?? now) - now)
    }

    /// Routes with something to show in the table: in flight, booked, paused, or with due jobs.
    var activeRoutes: [OperatorStore.RouteState] {
        routes.filter { $0.inFlight > 0 || rateBookedSeconds($0) > 0 || $0.pause != nil || !$0.topUsers.isEmpty }
    }

    /// Types with pending jobs and no route: they would wait forever, unseen.
    public var unrouted: [TypeLine] { types.filter { !$0.routed && $0.pending > 0 } }

    public var totals: TypeLine {
        types.reduce(into: TypeLine(type: "total", routed: true)) { total, line in
            total.pending += line.pending
            total.processing += line.processing
            total.completed += line.completed
            total.failed += line.failed
            total.other += line.other
            total.due += line.due
            total.expiredLeases += line.expiredLeases
            if let oldest = line.oldestDueSeconds { total.oldestDueSeconds = max(total.oldestDueSeconds ?? oldest, oldest) }
            if let next = line.nextRetryAt { total.nextRetryAt = min(total.nextRetryAt ?? next, next) }
        }
    }

    // MARK: JSON

    public func json() -> String {
        func counts(_ line: TypeLine) -> [(String, JSONOut)] {
            [
                ("pending", .int(line.pending)), ("processing", .int(line.processing)),
                ("completed", .int(line.completed)), ("failed", .int(line.failed)), ("other", .int(line.other)),
                ("due", .int(line.due)), ("oldest_due_seconds", line.oldestDueSeconds.json),
                ("next_retry_at", line.nextRetryAt.map { .string(TimeText.rfc3339($0)) } ?? .null),
                ("next_retry_in_seconds", line.nextRetryAt.map { .number(max(0, $0 - now)) } ?? .null),
                ("expired_leases", .int(line.expiredLeases)),
            ]
        }
        let document = JSONOut.object([
            ("generated_at", .string(TimeText.rfc3339(now))),
            ("types", .array(types.map { line in
                .object([("type", .string(line.type)), ("routed", .bool(line.routed))] + counts(line))
            })),
            ("totals", .object(counts(totals))),
            ("expired_leases", .array(expiredLeases.map { lease in
                .object([
                    ("id", .string(lease.id)), ("type", .string(lease.type)), ("locked_by", lease.lockedBy.json),
                    ("retry_count", .int(lease.retryCount)), ("expired_seconds", .number(lease.expiredSeconds)),
                ])
            })),
            ("unrouted", .array(unrouted.map { .object([("type", .string($0.type)), ("pending", .int($0.pending))]) })),
            ("top_errors", .array(topErrors.map { error in
                .object([
                    ("message", .string(error.message)), ("jobs", .int(error.jobs)),
                    ("types", .array(error.types.map { .string($0) })),
                    ("last_at", .string(TimeText.rfc3339(error.lastAt))),
                ])
            })),
            ("error_window_seconds", .number(errorWindow)),
            ("routes", .array(routes.map { route in
                .object([
                    ("type", .string(route.type)), ("in_flight", .int(route.inFlight)),
                    ("rate_booked_until", route.rateBookedUntil.map { .string(TimeText.rfc3339($0)) } ?? .null),
                    ("rate_booked_seconds", .number(rateBookedSeconds(route))),
                    ("paused", .bool(route.pause != nil)),
                    ("paused_until", route.pause.map { .string(TimeText.rfc3339($0.until)) } ?? .null),
                    ("pause_reason", route.pause.map { .string($0.reason) } ?? .null),
                    ("top_due_users", .array(route.topUsers.map { .object([("user_id", $0.user.json), ("due", .int($0.jobs))]) })),
                ])
            })),
            ("recent_failures", .array(recentFailures.map { failure in
                .object([
                    ("id", .string(failure.id)), ("type", .string(failure.type)), ("error", failure.error.json),
                    ("failed_at", .string(TimeText.rfc3339(failure.failedAt))),
                    ("failure_job", failure.failureJob.map { job in
                        .object([("id", .string(job.id)), ("type", .string(job.type)), ("status", .string(job.status))])
                    } ?? .null),
                ])
            })),
        ])
        return document.rendered()
    }

    // MARK: Table

    /// The readable form: the table, then only the sections that have something to say.
    public func table() -> String {
        guard !types.isEmpty else { return "job_queue is empty\n" }
        // The OTHER column only when some row has a status outside the four.
        let showOther = totals.other > 0
        var table = TextTable(
            headers: ["TYPE", "PENDING", "DUE", "OLDEST DUE", "NEXT RETRY", "PROCESSING", "EXPIRED", "COMPLETED", "FAILED"]
                + (showOther ? ["OTHER"] : []),
            alignments: [.left, .right, .right, .right, .right, .right, .right, .right, .right] + (showOther ? [.right] : []))
        func row(_ line: TypeLine, name: String) -> [String] {
            [name, String(line.pending), String(line.due),
             line.oldestDueSeconds.map { TimeText.age($0) } ?? "-",
             line.nextRetryAt.map { TimeText.relative(max(0, $0 - now)) } ?? "-",
             String(line.processing), String(line.expiredLeases), String(line.completed), String(line.failed)]
                + (showOther ? [String(line.other)] : [])
        }
        for line in types {
            table.append(row(line, name: line.routed ? line.type : line.type + " (no route)"))
        }
        if types.count > 1 { table.append(row(totals, name: "total")) }
        var out = table.rendered()

        if !expiredLeases.isEmpty {
            out += "\nExpired leases (\(expiredLeaseCount)): the next run counts each as a failed attempt\n"
            var leases = TextTable(headers: ["ID", "TYPE", "HELD BY", "EXPIRED", "RETRIES"],
                                   alignments: [.left, .left, .left, .right, .right])
            for lease in expiredLeases {
                leases.append([lease.id, lease.type, lease.lockedBy ?? "-", TimeText.relative(-lease.expiredSeconds),
                               String(lease.retryCount)])
            }
            out += indented(leases.rendered())
            if expiredLeaseCount > expiredLeases.count {
                out += "  ... and \(expiredLeaseCount - expiredLeases.count) more\n"
            }
        }

        let active = activeRoutes
        if !active.isEmpty {
            out += "\nRoutes, as every runner shares them (limits are the runners' flags):\n"
            var routeTable = TextTable(headers: ["TYPE", "IN FLIGHT", "RATE BOOKED", "PAUSED", "MOST DUE (USER JOBS)"],
                                       alignments: [.left, .right, .right, .left, .left])
            for route in active {
                let booked = rateBookedSeconds(route)
                let paused = route.pause.map { pause in
                    (pause.until.isInfinite ? "until resumed" : "until " + TimeText.rfc3339(pause.until))
                        + " (" + StatusReport.oneLine(TerminalText.escaped(pause.reason), limit: 40) + ")"
                } ?? "no"
                let users = route.topUsers.map { "\(TerminalText.escaped(StatusReport.oneLine($0.user ?? "(none)", limit: 24))) \($0.jobs)" }
                routeTable.append([TerminalText.escaped(route.type), String(route.inFlight),
                                   booked > 0 ? "\(TimeText.age(booked)) ahead" : "free", paused,
                                   users.isEmpty ? "-" : users.joined(separator: ", ")])
            }
            out += indented(routeTable.rendered())
        }

        let unrouted = self.unrouted
        if !unrouted.isEmpty {
            out += "\nPending jobs of types with no route (never claimed): add --route TYPE=/api/... to the run, or delete them\n"
            for line in unrouted { out += "  \(TerminalText.escaped(line.type)): \(line.pending)\n" }
        }

        if !topErrors.isEmpty {
            out += "\nMost frequent errors of jobs failed in the last \(DurationText.format(errorWindow)):\n"
            var errors = TextTable(headers: ["JOBS", "TYPES", "LAST", "ERROR"], alignments: [.right, .left, .left, .left])
            for error in topErrors {
                errors.append([String(error.jobs), error.types.joined(separator: ","), TimeText.relative(error.lastAt - now),
                               StatusReport.oneLine(error.message, limit: 100)])
            }
            out += indented(errors.rendered())
        }

        if !recentFailures.isEmpty {
            out += "\nLatest failed jobs (last \(DurationText.format(errorWindow))), with the failure job queued for each (--on-failure):\n"
            var failures = TextTable(headers: ["ID", "TYPE", "FAILED", "FAILURE JOB", "ERROR"],
                                     alignments: [.left, .left, .left, .left, .left])
            for failure in recentFailures {
                failures.append([failure.id, TerminalText.escaped(failure.type), TimeText.relative(failure.failedAt - now),
                                 failure.failureJob.map { "\($0.id) \(TerminalText.escaped($0.status))" } ?? "none",
                                 StatusReport.oneLine(failure.error ?? "-", limit: 80)])
            }
            out += indented(failures.rendered())
        }
        return out
    }

    private func indented(_ text: String) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map { "  " + $0 + "\n" }.joined()
    }

    /// A message on one line, cut to `limit` characters with an ellipsis.
    static func oneLine(_ text: String, limit: Int) -> String {
        let flat = String(text.map { $0.isNewline || $0 == "\t" ? " " : $0 })
        return flat.count > limit ? String(flat.prefix(limit - 1)) + "…" : flat
    }
}
