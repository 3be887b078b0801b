import ProcessJobsCore

/// What `run` was asked, as plain values: RunCommand's options after a parse, or every default
/// when there was nothing to parse (ProcessJobs.main). The defaults here are the options'
/// defaults in RunCommand, RouteOptions and CommonOptions.
struct RunRequest {
    /// The options RunConfiguration checks (RouteOptions' among them).
    var flags = RunFlags()
    /// The options ListenOptions checks (--once and --every among them).
    var listen = ListenOptions.Typed()
    var tokenFile: String?
    var signingSecretFile: String?
    var noBearerToken = false
    var window: String?
    var dryRun = false
    var metricsFile: String?
    /// --table-profile (nil: $PROCESS_JOBS_TABLE_PROFILE, else job_queue).
    var tableProfile: String?
    var common = CommonSettings()
}
