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
    @Option(name: .customLong("route-concurrency"), help: ArgumentHelp("At most N requests in flight for TYPE (repeatable).", valueName: "type=n"))
    var routeConcurrency: [String] = []
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
    @Option(help: .hidden)
    var seed: UInt64?
    @Flag(help: "Show what would be claimed now (ids, types, targets); claim, send and change nothing.")
    var dryRun = false
    @Option(help: ArgumentHelp("After each run, write Prometheus metrics to this file (atomically; for node_exporter's textfile collector).", valueName: "path"))
    var metricsFile: String?

    @OptionGroup var routing: RouteOptions
    @OptionGroup var common: CommonOptions

    func run() throws {
        let environment = ProcessEnvironment.current
        let progress = dryRun ? nil : ProgressDisplay.forTerminal(environment: environment)
        let log = common.makeLogger(sink: progress?.sink ?? .standardError)
        let configuration: RunConfiguration
        do {
            configuration = try RunConfiguration.resolve(flags, environment: environment)
        } catch {
            throw ExitStatus.from(error)
        }
        if dryRun {
            // Needs no token: nothing is sent.
            if every != nil { throw ExitStatus.fail(ExitStatus.usage, "--dry-run shows one moment; drop --every") }
            return try DryRun.show(configuration, connection: common.connect())
        }
        var credentials: Credentials
        do {
            credentials = try Credentials.load(tokenFile: tokenFile, signingSecretFile: signingSecretFile, bearerToken: !noBearerToken,
                                                 configuration: configuration, environment: environment) {
                log.warning("\($0)")
            }
        } catch {
            throw ExitStatus.from(error)
        }
        let schedule = try repeatSchedule()
        let metrics = try MetricsRecorder(path: metricsFile, types: configuration.targets.keys.sorted(),
                                          lease: configuration.settings.lease, log: log)
        let stop = StopSignal()
        stop.install()
        var connection: Connection
        do {
            connection = try common.connect(stop: stop)
        } catch {
            metrics?.recordFailure(exitCode: error.rawValue, seconds: 0,
                                   stop: ExitStatus.stopName(forDatabaseExit: error.rawValue))
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
        let clock = Stopwatch()
        var hangupsSeen = 0
        var runs = 0
        while true {
            if stop.hangups() > hangupsSeen {
                hangupsSeen = stop.hangups()
                credentials = reloaded(credentials, configuration: configuration, environment: environment, log: log)
            }
            let started = clock.seconds()
            // Each repeat gets a working connection: the server may have restarted or closed an idle session.
            if runs > 0 { connection = try common.connect(stop: stop) }
            runs += 1
            let store = JobStore(connection: connection, lockedBy: Self.holderName(), onFailure: settings.onFailure)
            var runSettings = settings
            if let schedule, let window = schedule.window {
                // Each run ends by the window's end, so cron's next minute finds the lock free.
                let left = window - started
                runSettings.maxRuntime = min(runSettings.maxRuntime ?? left, left)
            }
            let runner = Runner(store: store, transport: transport, settings: runSettings,
                                targets: configuration.targets, credentials: credentials, stop: stop, log: log,
                                observer: { progress?.update($0) })
            progress?.startRun()
            let report: RunReport
            do {
                report = try runner.run()
            } catch {
                progress?.clear()
                let exit = ExitStatus.from(error)
                metrics?.recordFailure(exitCode: exit.rawValue, seconds: clock.seconds() - started,
                                       stop: ExitStatus.stopName(forDatabaseExit: exit.rawValue))
                throw exit
            }
            progress?.clear()
            Self.logSummary(report, log: log)
            metrics?.record(report, exitCode: ExitStatus.code(for: report.stopReason), connection: connection)
            try ExitStatus.check(report, configuration: configuration, credentials: credentials)
            guard let schedule, report.stopReason != .signal else { return }
            let next = started + schedule.every
            if let window = schedule.window, next >= window { return }
            if stop.sleep(seconds: next - clock.seconds()) { return }
        }
    }

    /// SIGHUP in repeat mode: the token and signing secret files read again for the next run. A file that became
    /// unusable keeps the tokens in use, with an error in the log, rather than stopping the loop.
    private func reloaded(_ current: Credentials, configuration: RunConfiguration, environment: [String: String],
                          log: Logger) -> Credentials {
        do {
            let fresh = try Credentials.load(tokenFile: tokenFile, signingSecretFile: signingSecretFile, bearerToken: !noBearerToken,
                                                 configuration: configuration, environment: environment) {
                log.warning("\($0)")
            }
            log.notice("SIGHUP: token re-read", metadata: ["source": .string(fresh.summary)])
            return fresh
        } catch {
            log.error("SIGHUP: the token could not be re-read (\(error.description)); the tokens and signing secret in use are kept")
            return current
        }
    }

    /// --every and --for, checked.
    private func repeatSchedule() throws(ExitCode) -> (every: Double, window: Double?)? {
        guard let every else {
            if window != nil { throw ExitStatus.fail(ExitStatus.usage, "--for goes with --every (e.g. --every 10s --for 55s)") }
            return nil
        }
        do {
            let period = try DurationText.seconds(every)
            guard period >= 1 else {
                throw ExitStatus.fail(ExitStatus.usage, "--every must be at least 1s, not \(every): each run opens a statement on the database")
            }
            let span = try window.map { text throws(DurationText.Invalid) in try DurationText.seconds(text) }
            if let span, span <= 0 { throw ExitStatus.fail(ExitStatus.usage, "--for must be greater than zero") }
            return (period, span)
        } catch let error as DurationText.Invalid {
            throw ExitStatus.fail(ExitStatus.usage, "--every/--for: \(error.description)")
        } catch let error as ExitCode {
            throw error
        } catch {
            throw ExitStatus.fail(ExitStatus.usage, "\(error)")
        }
    }

    private var flags: RunFlags {
        var flags = RunFlags()
        flags.batchSize = batchSize
        flags.concurrency = concurrency
        flags.requestTimeout = requestTimeout
        flags.maxRuntime = maxRuntime
        flags.grace = grace
        flags.once = once
        flags.jobTypes = jobTypes
        flags.routeConcurrency = routeConcurrency
        flags.routeTokens = routeTokens
        flags.appURL = appURL
        flags.backoffBase = backoffBase
        flags.backoffMax = backoffMax
        flags.allowInsecureHTTP = allowInsecureHTTP
        flags.seed = seed
        flags.maxPayload = maxPayload
        flags.maxInflightBytes = maxInflightBytes
        routing.apply(to: &flags)
        return flags
    }

    /// "host:pid": who holds a lease, as the contract's locked_by column says.
    static func holderName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        gethostname(&buffer, buffer.count - 1)
        let name = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        return "\(String(decoding: name, as: UTF8.self)):\(getpid())"
    }

    static func logSummary(_ report: RunReport, log: Logger) {
        let summary = report.summary
        let finished = summary.completed + summary.retried + summary.failed
        let rate = report.seconds > 0 ? Double(finished) / report.seconds : 0
        log.info("run done", metadata: [
            "claimed": .stringConvertible(summary.claimed), "completed": .stringConvertible(summary.completed),
            "retried": .stringConvertible(summary.retried), "failed": .stringConvertible(summary.failed),
            "released": .stringConvertible(summary.released), "rescued": .stringConvertible(summary.rescued),
            "lease_lost": .stringConvertible(summary.leaseLost),
            "seconds": .string(String(Double(Int(report.seconds * 1000)) / 1000)),
            "jobs_per_second": .stringConvertible(Int(rate.rounded())),
            "round_trips": .stringConvertible(report.roundTrips),
            "stop": .string(report.stopReason.name),
        ])
    }
}
