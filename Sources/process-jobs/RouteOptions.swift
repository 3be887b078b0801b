import ArgumentParser
import ProcessJobsCore

/// The options that say which routes exist and how long a lease lasts, declared once for every
/// command that must agree with the run on them: `run` (and its --dry-run), `check` and `status`.
struct RouteOptions: ParsableArguments {
    @Option(name: .customLong("route"), help: ArgumentHelp("Route TYPE to PATH or URL (repeatable; TYPE= removes a route).", valueName: "type=path"))
    var routes: [String] = []

    @Option(help: ArgumentHelp("When a job ends failed, queue one job of TYPE about it, in the same statement (routed to /api/TYPE unless --route says otherwise).", valueName: "type"))
    var onFailure: String?

    // `.unconditional`: "-5" is a value to check (and refuse with its range), not a flag.
    @Option(parsing: .unconditional, help: ArgumentHelp("Lease on a claimed job; a run that dies is recovered after it, and status counts a processing row past it as expired (default 2 × request timeout + 60s).", valueName: "duration"))
    var lease: String?

    /// Copies these options into the run's flags, which check them.
    func apply(to flags: inout RunFlags) {
        flags.routes = routes
        flags.onFailure = onFailure
        flags.lease = lease
    }
}
