import ArgumentParser
import CurlTransport
import PostgresClient
import ProcessJobsCore

struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Check configuration, database, schema, row level security and write access, each route's endpoint and token, and the old pg_cron schedule.",
        discussion: """
            One line per check: ✓ passed, ✗ failed, ! warning, - skipped. Each endpoint gets a POST
            with an empty JSON object and the token (signed too with a signing secret; only signed with
            --no-bearer-token): the app must refuse the input (400) — no job is created or run — and
            not the token or signature (401/403). Exits 0 only if every check passes
            (warnings do not fail it); otherwise with the first failure's code: 64 bad flag,
            78 configuration or schema, 75 database unavailable, 77 token rejected, 69 app
            unreachable or answering wrongly.
            """)

    @Option(help: ArgumentHelp("The app's base URL (default: $NEXT_PUBLIC_APP_URL, else $APP_URL, else http://localhost:3000).", valueName: "url"))
    var appURL: String?
    @Option(name: .customLong("route-token"), help: ArgumentHelp("As the run's --route-token (repeatable).", valueName: "type=file"))
    var routeTokens: [String] = []
    @Option(name: .customLong("job-type"), help: ArgumentHelp("Check only this type's route (repeatable).", valueName: "type"))
    var jobTypes: [String] = []
    @Option(help: ArgumentHelp("Read the service-role key from this file (as the run).", valueName: "path"))
    var tokenFile: String?
    @Option(help: ArgumentHelp("Sign the probes with the secret(s) in this file (as the run).", valueName: "path"))
    var signingSecretFile: String?
    @Flag(help: "As the run's --no-bearer-token: probe with a signed empty body and no token.")
    var noBearerToken = false
    @Flag(help: "Allow plain http:// to a host that is not loopback.")
    var allowInsecureHTTP = false
    @Option(help: ArgumentHelp("Time allowed for each endpoint's answer (default 10s).", valueName: "duration"))
    var requestTimeout: String = "10s"

    @OptionGroup var routing: RouteOptions
    @OptionGroup var profileOption: ProfileOption
    @OptionGroup var common: CommonOptions

    /// The Edge Function's pg_cron job, and what its command calls.
    static let cronJobName = "process-job-queue"
    static let edgeFunctionPath = "functions/v1/process-jobs"

    func run() throws {
        let log = common.makeLogger()
        let timeout = try Operator.duration(requestTimeout, flag: "--request-timeout")
        let environment = ProcessEnvironment.current
        var report = CheckReport()

        // Configuration: the run's own resolution, so check accepts exactly what run accepts.
        var flags = RunFlags()
        flags.appURL = appURL
        routing.apply(to: &flags)
        flags.routeTokens = routeTokens
        flags.jobTypes = jobTypes
        flags.allowInsecureHTTP = allowInsecureHTTP
        var configuration: RunConfiguration?
        var credentials: Credentials?
        do {
            let resolved = try RunConfiguration.resolve(flags, environment: environment)
            credentials = try Credentials.load(tokenFile: tokenFile, signingSecretFile: signingSecretFile,
                                               bearerToken: !noBearerToken, configuration: resolved, environment: environment) {
                log.warning("\($0)")
            }
            configuration = resolved
            let types = resolved.targets.keys.sorted()
            report.add(.pass, "configuration",
                       "app URL \(resolved.appURL.description), \(credentials!.summary), \(types.count) route\(types.count == 1 ? "" : "s") (\(types.joined(separator: ", ")))")
        } catch {
            report.add(.fail(exitCode: ExitStatus.code(for: error)), "configuration", error.description)
        }

        // Database and schema.
        var store: OperatorStore?
        do {
            let connection = try common.open()
            let version = try OperatorStore(connection: connection).serverVersion()
            report.add(.pass, "database", "\(connection.endpoint), PostgreSQL \(version), encoding \(connection.serverEncoding)")
            if connection.serverEncoding != "UTF8" {
                report.add(.warn, "encoding", "the database is in \(connection.serverEncoding), not UTF8: characters in answers and errors that it cannot hold are stored as \\u{hex} text")
            }
            store = OperatorStore(connection: connection)
        } catch {
            let problem = ExitStatus.describe(error)
            report.add(.fail(exitCode: problem.code), "database", problem.message)
        }
        var schemaPresent = false
        if let store {
            do {
                let missing = try Migration.missing(on: store.connection)
                schemaPresent = !missing.contains("id")
                // The run needs only the columns; the Edge Function's functions matter while both run.
                let outdated = missing.isEmpty ? try Migration.outdated(on: store.connection) : []
                if missing.isEmpty && !outdated.isEmpty {
                    report.add(.warn, "schema", "job_queue is migrated, but \(outdated.joined(separator: ", ")) are not the migration's versions (an earlier release's migration, or restored): while the old Edge Function still runs it can take jobs in backoff or under a lease; run `process-jobs migrate` again")
                } else if missing.isEmpty {
                    report.add(.pass, "schema", "job_queue is migrated (run_at, lease columns and claim index present)")
                } else if missing.contains("id") {
                    report.add(.fail(exitCode: ExitStatus.configuration), "schema", "no job_queue table in this database: run `process-jobs migrate` (or point DATABASE_URL at the app's database)")
                } else {
                    report.add(.fail(exitCode: ExitStatus.configuration), "schema", "job_queue lacks \(missing.joined(separator: ", ")): run `process-jobs migrate`")
                }
            } catch {
                let problem = ExitStatus.describe(error)
                report.add(.fail(exitCode: problem.code), "schema", problem.message)
            }
        } else {
            report.add(.skip, "schema", "skipped: needs the database")
        }

        // The profile's table, as the run checks it at start.
        do {
            if let profile = try profileOption.read(environment: environment) {
                if let store {
                    switch ProfileOption.check(profile, connection: store.connection) {
                    case .success: report.add(.pass, "table profile", "\(profile.table) fits the profile and is migrated for it")
                    case .failure(let problem): report.add(.fail(exitCode: problem.code), "table profile", problem.message)
                    }
                } else {
                    report.add(.skip, "table profile", "skipped: needs the database")
                }
            }
        } catch {
            report.add(.fail(exitCode: ExitStatus.code(for: error)), "table profile", error.description)
        }

        // What the role may do to the rows: a database problem, so before the endpoints'.
        AccessChecks.add(to: &report, store: store, schemaPresent: schemaPresent)

        // Each route's endpoint, through the same transport the run uses.
        if let configuration, let credentials {
            let targets = configuration.targets.keys.sorted().map { EndpointProbe.Target(type: $0, url: configuration.targets[$0]!) }
            // The run's TLS settings too, so a CA problem shows here first.
            let transport = CurlTransport(options: .init(requestTimeout: timeout, connectTimeout: min(10, timeout),
                                                         maxConnections: max(1, targets.count),
                                                         caBundle: environment["CURL_CA_BUNDLE"] ?? environment["SSL_CERT_FILE"]),
                                          wakeDescriptor: nil)
            let results = EndpointProbe.probe(targets, token: { credentials.token(for: $0.type)?.value }, signing: credentials.signing,
                                              transport: transport, timeout: timeout + 5)
            for (target, result) in zip(targets, results) {
                let state: CheckReport.State = result.exitCode == 0 ? .pass : .fail(exitCode: result.exitCode)
                report.add(state, "route \(target.type)", "\(RedactedURL.text(target.url)): \(result.detail(signedOnly: credentials.appToken == nil))")
            }
        } else {
            report.add(.skip, "endpoints", "skipped: needs a valid configuration")
        }

        // The Edge Function's pg_cron schedule would compete with process-jobs for the same jobs.
        if let store {
            addCronCheck(to: &report, store: store)
        } else {
            report.add(.skip, "pg_cron", "skipped: needs the database")
        }

        LineSink.standardOutput.write(report.rendered())
        if report.exitCode != 0 { throw ExitCode(report.exitCode) }
    }

    /// Finds the old schedule by its name or by the Edge Function's URL in its command.
    private func addCronCheck(to report: inout CheckReport, store: OperatorStore) {
        do {
            guard let jobs = try store.cronJobs(named: Self.cronJobName, commandContaining: Self.edgeFunctionPath) else {
                report.add(.warn, "pg_cron", "no cron schema in this database, so the old \(Self.cronJobName) schedule could not be checked; if pg_cron runs in another database, check there")
                return
            }
            if let job = jobs.first(where: \.active) {
                let label = job.name.isEmpty ? "without a name" : job.name
                let calls = job.callsEdgeFunction ? ", its command calls \(Self.edgeFunctionPath)" : ""
                let unschedule = job.name.isEmpty ? "select cron.unschedule(\(job.id))" : "select cron.unschedule('\(job.name)')"
                report.add(.warn, "pg_cron", "job \(label) (jobid \(job.id), schedule '\(job.schedule)'\(calls)) is still active and competes with process-jobs: once process-jobs runs, remove it with \(unschedule)")
            } else if let job = jobs.first {
                report.add(.pass, "pg_cron", "job \(job.name.isEmpty ? job.id : job.name) exists but is inactive")
            } else {
                report.add(.pass, "pg_cron", "no job named \(Self.cronJobName) or calling \(Self.edgeFunctionPath)")
            }
        } catch {
            report.add(.warn, "pg_cron", "cannot read cron.job (\(error.message)): check the old \(Self.cronJobName) schedule by hand")
        }
    }
}
