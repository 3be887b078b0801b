import ArgumentParser
import CurlTransport
import FoundationEssentials
import Synchronization
import HealthServer
import Logging
import PostgresClient
import ProcessJobsCore

/// `run --listen` put together: the main connection, the listening one, the health server,
/// systemd's notifications and the metrics around ListenLoop, which decides when to claim.
/// Each burst is a Runner run on the main connection, so it claims, sends and records exactly as
/// a timer's run does.
struct ListenRun {
    let options: ListenOptions
    /// --table-profile: the table served (nil: job_queue).
    let profile: TableProfile?
    let configuration: RunConfiguration
    let settings: RunSettings
    var credentials: Credentials
    let metricsFile: String?
    let common: CommonSettings
    let log: Logger
    let environment: [String: String]
    /// SIGHUP: the credentials read again (or the ones in use, when the files became unusable).
    let reload: (Credentials) -> Credentials

    func run() throws {
        var credentials = credentials
        let types = configuration.targets.keys.sorted()
        if let metricsFile {
            do { try MetricsFile.checkWritable(metricsFile) } catch { throw Operator.usage(error.description) }
        }
        let address: HTTPAddress?
        if let http = options.http {
            guard let parsed = HTTPAddress.parse(http) else {
                throw ExitStatus.fail(ExitStatus.usage, "--http '\(http)' must look like ADDR:PORT with a numeric address, e.g. 127.0.0.1:9464 or [::1]:9464")
            }
            address = parsed
        } else {
            address = nil
        }
        let stop = StopSignal()
        stop.install()
        let stopCheck = Connection.StopCheck(descriptor: stop.wakeDescriptor) { stop.received() > 0 }
        var connection = try common.connect(stop: stop)
        let table = try ProfileOption.table(profile, connection: connection)
        try Self.checkNotifyTrigger(profile, table: table, connection: connection)
        // Claims on the listener's own URL go through a session: the tick is prepared there.
        connection.preparesRepeatedStatements = options.database.isMain
        func reopen() throws(PostgresError) -> Connection {
            let opened = try common.open(stop: stop)
            opened.preparesRepeatedStatements = options.database.isMain
            return opened
        }
        let watch = Stopwatch()
        let listener = Listener(source: options.database, channel: table.channel, timeout: try common.databaseTimeout(), stop: stopCheck, log: log,
                                now: { watch.seconds() }, random: { Double.random(in: 0..<1) })
        do {
            try listener.start()
        } catch let error as ConfigError {
            throw ExitStatus.from(error)
        } catch let error as PostgresError {
            if stop.received() > 0 { return }
            throw ExitStatus.from(error)
        }

        let heartbeat = LoopHeartbeat(pollInterval: options.pollInterval, started: watch.seconds())
        let page = MetricsPage()
        var totals = ListenTotals()
        let server: HealthServer?
        if let address {
            do {
                server = try HealthServer(address: address, routes: HealthRoutes(metrics: { page.text }, health: {
                    let state = heartbeat.check(at: watch.seconds())
                    return HealthRoutes.Health(healthy: state.healthy, detail: state.detail)
                }))
            } catch {
                throw ExitStatus.fail(ExitStatus.configuration, error.description)
            }
            log.info("serving /metrics and /healthz", metadata: ["address": .string(server!.address.description)])
        } else {
            server = nil
        }
        defer { server?.stop() }

        let transport = CurlTransport(
            options: .init(requestTimeout: settings.requestTimeout, maxConnections: settings.concurrency,
                           caBundle: environment["CURL_CA_BUNDLE"] ?? environment["SSL_CERT_FILE"]),
            wakeDescriptor: stop.wakeDescriptor)
        let notifier = SystemdNotifier(environment: environment)
        let holder = RunCommand.holderName()
        let wantsMetrics = metricsFile != nil || server != nil

        /// The metrics as they stand: for /metrics, and written to --metrics-file.
        func refreshMetrics(queue: Bool) {
            var rows: [OperatorStore.QueueRow]?
            if queue {
                rows = try? OperatorStore(connection: connection, table: table).queueSummary(lease: settings.lease).rows
            }
            let text = PrometheusText.render(totals.families(types: types, seconds: watch.seconds(), wallNow: Date().timeIntervalSince1970,
                                                             queue: rows ?? page.queue))
            if rows != nil { page.queue = rows }
            page.text = text
            if let metricsFile {
                do { try MetricsFile.write(text, to: metricsFile) } catch { log.error("metrics file not written: \(error.description)") }
            }
        }
        if wantsMetrics { refreshMetrics(queue: true) }

        notifier.ready(status: "listening on channel \(listener.channel) (\(listener.source.source))")
        log.info("listening", metadata: ["channel": .string(listener.channel), "connection": .string(listener.source.source),
                                         "poll_interval": .string(DurationText.format(options.pollInterval))])

        var nextWatchdog = 0.0
        var nextMetrics = watch.seconds() + options.metricsInterval
        var nextStatus = 0.0
        /// The loop is turning: for /healthz, systemd's watchdog and STATUS=. Called between bursts
        /// and at every turn of a burst's driver (a busy listener may stay in one burst for long).
        func alive() {
            let now = watch.seconds()
            heartbeat.beat(at: now)
            if let interval = notifier.watchdogInterval, now >= nextWatchdog {
                notifier.watchdog()
                nextWatchdog = now + interval
            }
            if notifier.isActive, now >= nextStatus {
                notifier.status(totals.status(now: now))
                nextStatus = now + 1
            }
        }
        let statements = TableStatements(table)
        let loop = ListenLoop(listener: listener, stop: stop, pollInterval: options.pollInterval,
                              maxRuntime: settings.maxRuntime, log: log)
        let hooks = ListenLoop.Hooks(
            burst: { left, probe in
                var burstSettings = settings
                burstSettings.maxRuntime = left
                let store = JobStore(connection: connection, lockedBy: holder, onFailure: settings.onFailure, statements: statements)
                let runner = Runner(store: probe ? store : NotifiedStore(store), transport: transport, settings: burstSettings,
                                    targets: configuration.targets, credentials: credentials, stop: stop, log: log)
                runner.reconnect = { () throws(PostgresError) -> any TickStore in
                    connection = try reopen()
                    return JobStore(connection: connection, lockedBy: holder, onFailure: settings.onFailure, statements: statements)
                }
                // Notifications during the burst: read only while connected (reconnecting is
                // the loop's, between bursts, where a pooler found on the way is an exit). Jobs
                // due later are the probe's, after the burst.
                runner.notifications = (descriptor: { listener.descriptor }, take: {
                    guard listener.descriptor != nil, let event = try? listener.service() else { return false }
                    if case .notified(let dueNow, _) = event { return dueNow > 0 }
                    return false
                })
                runner.everyTurn = alive
                let report = try runner.run()
                totals.add(report, now: watch.seconds(), wallNow: Date().timeIntervalSince1970)
                if report.summary.claimed > 0 || report.summary.rescued > 0 {
                    log.debug("burst done", metadata: report.summaryFields)
                }
                switch report.stopReason {
                case .tokenRejected, .schemaOutdated:
                    RunCommand.logSummary(report, log: log)
                    if wantsMetrics { refreshMetrics(queue: false) }
                    notifier.stopping(status: "stopped: \(report.stopReason.name)")
                    try ExitStatus.check(report, configuration: configuration, credentials: credentials)
                default:
                    break
                }
                return report
            },
            reconnect: {
                connection = try reopen()
            },
            reload: { credentials = reload(credentials) },
            turned: { loopNow in
                let now = watch.seconds()
                alive()
                if wantsMetrics, now >= nextMetrics {
                    refreshMetrics(queue: true)
                    nextMetrics = now + options.metricsInterval
                }
                // The loop turns at least once a poll interval; the watchdog and metrics may need it sooner.
                let wanted = [notifier.watchdogInterval.map { _ in nextWatchdog }, wantsMetrics ? nextMetrics : nil].compactMap { $0 }.min()
                return wanted.map { loopNow + ($0 - now) }
            })
        let reason: StopReason
        do {
            reason = try loop.run(hooks)
        } catch let error as PostgresError {
            notifier.stopping(status: "stopped: database error")
            throw ExitStatus.from(error)
        } catch let error as ConfigError {
            notifier.stopping(status: "stopped: configuration error")
            throw ExitStatus.from(error)
        }
        notifier.stopping(status: "stopped: \(reason.name)")
        if wantsMetrics { refreshMetrics(queue: true) }
        log.info("listener stopped", metadata: ["stop": .string(reason.name), "claimed": .stringConvertible(totals.summary.claimed),
                                                "completed": .stringConvertible(totals.summary.completed)])
    }

    /// A profile's table must have its notify trigger, as `migrate --table-profile` writes it
    /// for the profile's names and words: without it the listener would hear nothing and claim
    /// only at its backstop poll (job_queue's is checked by the schema version, at the first probe).
    static func checkNotifyTrigger(_ profile: TableProfile?, table: JobTable, connection: Connection) throws(ExitCode) {
        guard let profile, table != .jobQueue else { return }
        let missing: [String]
        do {
            missing = try ProfileMigration.missingNotifyTrigger(profile, on: connection)
        } catch {
            throw ExitStatus.from(error)
        }
        guard missing.isEmpty else {
            throw ExitStatus.fail(ExitStatus.configuration,
                                  "table profile: \(profile.table) lacks the notify trigger --listen needs, as this profile writes it (\(missing.joined(separator: ", "))): run process-jobs migrate --table-profile FILE")
        }
    }
}

/// The latest /metrics text, written by the loop and read from the server's thread.
private final class MetricsPage: Sendable {
    private let state = Mutex<(text: String, queue: [OperatorStore.QueueRow]?)>(("", nil))

    var text: String {
        get { state.withLock { $0.text } }
        set { state.withLock { $0.text = newValue } }
    }

    /// The queue as last read, kept for a refresh that does not read it.
    var queue: [OperatorStore.QueueRow]? {
        get { state.withLock { $0.queue } }
        set { state.withLock { $0.queue = newValue } }
    }
}
