import ArgumentParser
import CurlTransport
import Logging
import PostgresClient
import ProcessJobsCore
#if canImport(Glibc)
import Glibc
#endif

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Claim due jobs, POST them to the app, record each outcome (the default command).")

    // `.unconditional`: "-5" is a value to check (and refuse with its range), not a flag.
    @Option(parsing: .unconditional, help: "Jobs claimed per statement (default 50).")
    var batchSize: Int?
    @Option(parsing: .unconditional, help: "Requests in flight at once (default 16).")
    var concurrency: Int?
    @Option(parsing: .unconditional, help: ArgumentHelp("Time allowed for one request (default 120s).", valueName: "duration"))
    var requestTimeout: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("Stop claiming after this long; 0 for no limit (default 5m).", valueName: "duration"))
    var maxRuntime: String?
    @Flag(help: "Claim one batch only.")
    var once = false
    @Option(parsing: .unconditional, help: ArgumentHelp("After SIGTERM/SIGINT, how long requests in flight may finish (default 25s).", valueName: "duration"))
    var grace: String?
    @Option(name: .customLong("job-type"), help: ArgumentHelp("Claim only this type (repeatable; default: every routed type).", valueName: "type"))
    var jobTypes: [String] = []
    @Option(name: .customLong("route-concurrency"), help: ArgumentHelp("At most N requests of TYPE in flight across all runners, counted from live leases (repeatable).", valueName: "type=n"))
    var routeConcurrency: [String] = []
    @Option(name: .customLong("route-rate"), help: ArgumentHelp("At most N requests of TYPE start per DURATION across all runners, one every DURATION/N (repeatable; e.g. generate-image=30/1m).", valueName: "type=n/duration"))
    var routeRates: [String] = []
    @Option(name: .customLong("route-burst"), help: ArgumentHelp("With --route-rate: up to B of TYPE's starts at once (repeatable; default 1).", valueName: "type=b"))
    var routeBursts: [String] = []
    @Option(help: ArgumentHelp("user: claims take turns over users (round robin by user_id); none: oldest first (default user).", valueName: "user|none"))
    var fairBy: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("At most N jobs of one user in flight across all runners (default: no cap).", valueName: "n"))
    var userConcurrency: Int?
    @Option(name: .customLong("route-token"), help: ArgumentHelp("Send TYPE's requests the token in FILE (read like --token-file); a route at another origin than the app's gets no token otherwise (repeatable).", valueName: "type=file"))
    var routeTokens: [String] = []
    @Option(help: ArgumentHelp("The app's base URL (default: $NEXT_PUBLIC_APP_URL, else $APP_URL, else http://localhost:3000).", valueName: "url"))
    var appURL: String?
    @Option(help: ArgumentHelp("Read the service-role key from this file (default: $CREDENTIALS_DIRECTORY/service-role-key, else $SUPABASE_SERVICE_ROLE_KEY).", valueName: "path"))
    var tokenFile: String?
    @Option(help: ArgumentHelp("Sign every request (Standard Webhooks) with the whsec_ secret(s) in this file (default: $CREDENTIALS_DIRECTORY/signing-secret, else $PROCESS_JOBS_SIGNING_SECRET).", valueName: "path"))
    var signingSecretFile: String?
    @Flag(help: "Send no Authorization header at all (needs a signing secret; then no token is needed).")
    var noBearerToken = false
    @Option(parsing: .unconditional, help: ArgumentHelp("Delay after the first failed attempt, doubling after each (default 30s).", valueName: "duration"))
    var backoffBase: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("Longest retry delay, Retry-After included (default 1h).", valueName: "duration"))
    var backoffMax: String?
    @Option(help: ArgumentHelp("A request body over this size fails its job at once, unsent (default 10MiB; e.g. 512KiB, 64MiB or bytes).", valueName: "size"))
    var maxPayload: String?
    @Option(help: ArgumentHelp("Bodies in flight and claimed but not sent stay within this size; a single larger body goes alone (default 64MiB).", valueName: "size"))
    var maxInflightBytes: String?
    @Flag(help: "Allow plain http:// to a host that is not loopback (the token travels in clear).")
    var allowInsecureHTTP = false
    @Option(parsing: .unconditional, help: ArgumentHelp("Repeat mode: start a run every DURATION (at least 1s, e.g. 10s) instead of once.", valueName: "duration"))
    var every: String?
    @Option(name: .customLong("for"), parsing: .unconditional, help: ArgumentHelp("With --every: stop starting runs after this long (e.g. 55s for cron); default: until stopped.", valueName: "duration"))
    var window: String?
    @Flag(help: "Stay running: claim as soon as a job becomes due (LISTEN on channel process_jobs, or the profile table's own), at the next run_at or lease expiry, and every --poll-interval (docs/listen.md).")
    var listen = false
    @Option(parsing: .unconditional, help: ArgumentHelp("With --listen: claim at least this often, for anything a notification missed (default 30s).", valueName: "duration"))
    var pollInterval: String?
    @Option(help: ArgumentHelp("With --listen: LISTEN on this session connection while claims go through --database-url (default: $PROCESS_JOBS_LISTEN_DATABASE_URL, else the main connection).", valueName: "url"))
    var listenDatabaseURL: String?
    @Option(help: ArgumentHelp("With --listen: serve /metrics and /healthz on ADDR:PORT (needs libmicrohttpd).", valueName: "addr:port"))
    var http: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("With --listen: rewrite --metrics-file this often (default 15s).", valueName: "duration"))
    var metricsInterval: String?
    @Option(help: .hidden)
    var seed: UInt64?
    @Flag(help: "Show what would be claimed now (ids, types, targets); claim, send and change nothing.")
    var dryRun = false
    @Option(help: ArgumentHelp("After each run, write Prometheus metrics to this file (atomically; for node_exporter's textfile collector).", valueName: "path"))
    var metricsFile: String?

    @OptionGroup var routing: RouteOptions
    @OptionGroup var profileOption: ProfileOption
    @OptionGroup var common: CommonOptions

    func run() throws {
        try Self.run(request)
    }

    /// `run` from plain values: ProcessJobs.main calls it without a parse when there is nothing to parse.
    static func run(_ request: RunRequest) throws {
        let environment = ProcessEnvironment.current
        let common = request.common
        let progress = request.dryRun ? nil : ProgressDisplay.forTerminal(environment: environment)
        let log = common.makeLogger(sink: progress?.sink ?? .standardError)
        let configuration: RunConfiguration
        do {
            configuration = try RunConfiguration.resolve(request.flags, environment: environment)
        } catch {
            throw ExitStatus.from(error)
        }
        let profile = try ProfileOption.load(request.tableProfile, environment: environment)
        let listenOptions: ListenOptions?
        do {
            listenOptions = try ListenOptions.resolve(request.listen, environment: environment,
                                                      main: common.databaseURL ?? environment["DATABASE_URL"])
        } catch {
            throw ExitStatus.from(error)
        }
        if request.dryRun {
            if request.listen.listen { throw ExitStatus.fail(ExitStatus.usage, "--dry-run shows one moment; drop --listen") }
            // Needs no token: nothing is sent.
            if request.listen.every != nil { throw ExitStatus.fail(ExitStatus.usage, "--dry-run shows one moment; drop --every") }
            let connection = try common.connect()
            return try DryRun.show(configuration, connection: connection,
                                   table: ProfileOption.table(profile, connection: connection))
        }
        var credentials: Credentials
        do {
            credentials = try Credentials.load(tokenFile: request.tokenFile, signingSecretFile: request.signingSecretFile,
                                               bearerToken: !request.noBearerToken, configuration: configuration,
                                               environment: environment) {
                log.warning("\($0)")
            }
        } catch {
            throw ExitStatus.from(error)
        }
        let schedule: RepeatSchedule?
        do {
            schedule = try RepeatSchedule.parse(every: request.listen.every, window: request.window)
        } catch {
            throw ExitStatus.from(error)
        }
        if let listenOptions {
            var settings = configuration.settings
            // A listener runs until stopped: only an explicit --max-runtime ends it.
            if request.flags.maxRuntime == nil { settings.maxRuntime = nil }
            settings.heldRecheck = listenOptions.pollInterval
            return try ListenRun(options: listenOptions, profile: profile, configuration: configuration, settings: settings, credentials: credentials,
                                 metricsFile: request.metricsFile, common: common, log: log, environment: environment,
                                 reload: { reloaded($0, request: request, configuration: configuration, environment: environment, log: log) }).run()
        }
        let metrics = try MetricsRecorder(path: request.metricsFile, types: configuration.targets.keys.sorted(),
                                          lease: configuration.settings.lease, log: log)
        let stop = StopSignal()
        stop.install()
        var connection: Connection
        do {
            connection = try common.connect(stop: stop)
        } catch {
            metrics?.recordFailure(exitCode: error.rawValue, seconds: 0, stop: ExitStatus.stopName(forDatabaseExit: error.rawValue))
            throw error
        }
        let table: JobTable
        do {
            table = try ProfileOption.table(profile, connection: connection)
        } catch {
            metrics?.recordFailure(exitCode: error.rawValue, seconds: 0, stop: ExitStatus.stopName(forDatabaseExit: error.rawValue))
            throw error
        }
        if connection.serverEncoding != "UTF8" {
            log.warning("the database is not in UTF-8: characters it cannot hold are stored as \\u{hex} text",
                        metadata: ["server_encoding": .string(connection.serverEncoding)])
        }
        let settings = configuration.settings
        let transport = CurlTransport(
            options: .init(requestTimeout: settings.requestTimeout, maxConnections: settings.concurrency,
                           caBundle: environment["CURL_CA_BUNDLE"] ?? environment["SSL_CERT_FILE"]),
            wakeDescriptor: stop.wakeDescriptor)
        try RepeatLoop(schedule: schedule, stop: stop).run(settings: settings) { turn throws(ExitCode) -> RunReport in
            if turn.reload {
                credentials = reloaded(credentials, request: request, configuration: configuration, environment: environment, log: log)
            }
            if turn.index > 0 { connection = try common.connect(stop: stop) }
            let started = Stopwatch()
            let runner = Runner(store: JobStore(connection: connection, lockedBy: Self.holderName(), onFailure: settings.onFailure,
                                                 table: table),
                                transport: transport, settings: turn.settings, targets: configuration.targets,
                                credentials: credentials, stop: stop, log: log, observer: { progress?.update($0) })
            progress?.startRun()
            let report: RunReport
            do throws(PostgresError) {
                report = try runner.run()
            } catch {
                progress?.clear()
                let exit = ExitStatus.from(error)
                metrics?.recordFailure(exitCode: exit.rawValue, seconds: started.seconds(),
                                       stop: ExitStatus.stopName(forDatabaseExit: exit.rawValue))
                throw exit
            }
            progress?.clear()
            Self.logSummary(report, log: log)
            metrics?.record(report, exitCode: ExitStatus.code(for: report.stopReason), connection: connection, table: table)
            try ExitStatus.check(report, configuration: configuration, credentials: credentials)
            return report
        }
    }

    /// SIGHUP in repeat mode: the token and signing secret files read again for the next run. A file that became
    /// unusable keeps the tokens in use, with an error in the log, rather than stopping the loop.
    static func reloaded(_ current: Credentials, request: RunRequest, configuration: RunConfiguration,
                         environment: [String: String], log: Logger) -> Credentials {
        do {
            let fresh = try Credentials.load(tokenFile: request.tokenFile, signingSecretFile: request.signingSecretFile,
                                             bearerToken: !request.noBearerToken, configuration: configuration,
                                             environment: environment) {
                log.warning("\($0)")
            }
            log.notice("SIGHUP: token re-read", metadata: ["source": .string(fresh.summary)])
            return fresh
        } catch {
            log.error("SIGHUP: the token could not be re-read (\(error.description)); the tokens and signing secret in use are kept")
            return current
        }
    }

    /// The parsed options as plain values.
    private var request: RunRequest {
        var request = RunRequest()
        request.tableProfile = profileOption.tableProfile
        var flags = RunFlags()
        flags.batchSize = batchSize
        flags.concurrency = concurrency
        flags.requestTimeout = requestTimeout
        flags.maxRuntime = maxRuntime
        flags.grace = grace
        flags.once = once
        flags.jobTypes = jobTypes
        flags.routeConcurrency = routeConcurrency
        flags.routeRates = routeRates
        flags.routeBursts = routeBursts
        flags.fairBy = fairBy
        flags.userConcurrency = userConcurrency
        flags.routeTokens = routeTokens
        flags.appURL = appURL
        flags.backoffBase = backoffBase
        flags.backoffMax = backoffMax
        flags.allowInsecureHTTP = allowInsecureHTTP
        flags.seed = seed
        flags.maxPayload = maxPayload
        flags.maxInflightBytes = maxInflightBytes
        routing.apply(to: &flags)
        request.flags = flags
        request.listen.listen = listen
        request.listen.once = once
        request.listen.every = every
        request.listen.pollInterval = pollInterval
        request.listen.metricsInterval = metricsInterval
        request.listen.http = http
        request.listen.listenDatabaseURL = listenDatabaseURL
        request.tokenFile = tokenFile
        request.signingSecretFile = signingSecretFile
        request.noBearerToken = noBearerToken
        request.window = window
        request.dryRun = dryRun
        request.metricsFile = metricsFile
        request.common = common.settings
        return request
    }

    /// "host:pid": who holds a lease, as the contract's locked_by column says.
    static func holderName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        gethostname(&buffer, buffer.count - 1)
        let name = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        return "\(String(decoding: name, as: UTF8.self)):\(getpid())"
    }

    static func logSummary(_ report: RunReport, log: Logger) {
        log.info("run done", metadata: report.summaryFields)
    }
}
