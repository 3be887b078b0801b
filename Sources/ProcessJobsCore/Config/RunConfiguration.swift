/// Run flags as the operator typed them; `RunConfiguration.resolve` checks them against each
/// other and the environment. Kept apart from the argument parser so it is testable as values.
public struct RunFlags: Sendable {
    public var batchSize: Int?
    public var concurrency: Int?
    public var requestTimeout: String?
    public var lease: String?
    public var maxRuntime: String?
    public var grace: String?
    public var once = false
    public var jobTypes: [String] = []
    public var routes: [String] = []
    public var routeConcurrency: [String] = []
    /// "TYPE=N/DURATION": at most N starts of TYPE per DURATION, across all runners.
    public var routeRates: [String] = []
    /// "TYPE=B": up to B of TYPE's starts at once (needs a --route-rate for TYPE).
    public var routeBursts: [String] = []
    /// --fair-by: "user" or "none" (nil: user).
    public var fairBy: String?
    /// --user-concurrency N.
    public var userConcurrency: Int?
    /// "TYPE=FILE": the bearer token for that route (read like --token-file).
    public var routeTokens: [String] = []
    public var appURL: String?
    public var backoffBase: String?
    public var backoffMax: String?
    public var allowInsecureHTTP = false
    public var seed: UInt64?
    public var maxPayload: String?
    public var maxInflightBytes: String?
    /// --on-failure TYPE: queue a job of TYPE for each job that ends failed.
    public var onFailure: String?

    public init() {}
}

/// Everything a run needs except the token and the connection.
public struct RunConfiguration: Sendable {
    public var settings: RunSettings
    public var appURL: AppURL
    public var routes: Routes
    /// Job type to full URL, for the types this run claims.
    public var targets: [String: String]
    /// Claimed types whose URL is at another origin than the app's: the service-role key is
    /// never sent there.
    public var foreignTypes: Set<String>
    /// Job type to the file holding that route's own token (--route-token).
    public var routeTokenFiles: [String: String]

    /// The app URL: --app-url, else NEXT_PUBLIC_APP_URL, else APP_URL, else http://localhost:3000
    /// (the Edge Function's order).
    public static let defaultAppURL = "http://localhost:3000"

    public static func resolve(_ flags: RunFlags, environment: [String: String]) throws(ConfigError) -> RunConfiguration {
        var settings = RunSettings()
        if let value = flags.batchSize {
            guard (1...10_000).contains(value) else { throw .usage("--batch-size must be between 1 and 10000, not \(value)") }
            settings.batchSize = value
        }
        if let value = flags.concurrency {
            guard (1...1024).contains(value) else { throw .usage("--concurrency must be between 1 and 1024, not \(value)") }
            settings.concurrency = value
        }
        settings.requestTimeout = try duration(flags.requestTimeout, "--request-timeout", default: settings.requestTimeout)
        settings.lease = try duration(flags.lease, "--lease", default: RunSettings.defaultLease(requestTimeout: settings.requestTimeout))
        guard settings.lease >= 2 * settings.requestTimeout else {
            throw .usage("--lease (\(DurationText.format(settings.lease))) must be at least twice --request-timeout (\(DurationText.format(settings.requestTimeout))): a claimed job may wait for one request before its own")
        }
        if let text = flags.maxRuntime, (try? DurationText.seconds(text)) == 0 {
            settings.maxRuntime = nil
        } else {
            settings.maxRuntime = try duration(flags.maxRuntime, "--max-runtime", default: settings.maxRuntime ?? 300)
        }
        settings.grace = try duration(flags.grace, "--grace", default: settings.grace)
        settings.once = flags.once
        settings.retry.base = try duration(flags.backoffBase, "--backoff-base", default: settings.retry.base)
        settings.retry.cap = try duration(flags.backoffMax, "--backoff-max", default: settings.retry.cap)
        guard settings.retry.cap >= settings.retry.base else {
            throw .usage("--backoff-max must not be shorter than --backoff-base")
        }
        settings.seed = flags.seed
        settings.maxPayload = try size(flags.maxPayload, "--max-payload", default: settings.maxPayload)
        settings.maxInflightBytes = try size(flags.maxInflightBytes, "--max-inflight-bytes", default: settings.maxInflightBytes)

        let routes: Routes
        do throws(Routes.Invalid) {
            if let type = flags.onFailure {
                do { try Routes.checkType(type) } catch { throw Routes.Invalid(description: "--on-failure: \(error.description)") }
                settings.onFailure = type
            }
            // The failure type's default route comes first, so a --route for it wins.
            routes = try Routes(overrides: (flags.onFailure.map { [Routes.failureRoute(for: $0)] } ?? []) + flags.routes)
        } catch {
            throw .usage(error.description)
        }
        for type in flags.jobTypes where routes.target(for: type) == nil {
            throw .usage("--job-type \(type) has no route: add --route \(type)=/api/... (types with no route are never claimed)")
        }
        for text in flags.routeConcurrency {
            let parts = text.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, let limit = Int(parts[1]), limit >= 1 else {
                throw .usage("--route-concurrency '\(text)' must look like TYPE=N with N at least 1")
            }
            guard routes.target(for: parts[0]) != nil else {
                throw .usage("--route-concurrency \(parts[0]): no such route")
            }
            settings.routeConcurrency[parts[0]] = limit
        }
        settings.limits = try FlowFlags.limits(rates: flags.routeRates, bursts: flags.routeBursts,
                                               concurrency: settings.routeConcurrency, routes: routes)
        if let text = flags.fairBy {
            guard let fairBy = FairBy(rawValue: text) else {
                throw .usage("--fair-by must be user or none, not '\(text)'")
            }
            settings.fairBy = fairBy
        }
        if let value = flags.userConcurrency {
            guard value >= 1 else { throw .usage("--user-concurrency must be at least 1, not \(value)") }
            settings.userConcurrency = value
        }

        let appURL: AppURL
        do {
            if let text = flags.appURL {
                appURL = try AppURL(text, allowInsecureHTTP: flags.allowInsecureHTTP)
            } else {
                let (name, text) = environment["NEXT_PUBLIC_APP_URL"].flatMap { $0.isEmpty ? nil : ("NEXT_PUBLIC_APP_URL", $0) }
                    ?? environment["APP_URL"].flatMap { $0.isEmpty ? nil : ("APP_URL", $0) }
                    ?? ("default", defaultAppURL)
                do {
                    appURL = try AppURL(text, allowInsecureHTTP: flags.allowInsecureHTTP)
                } catch {
                    throw ConfigError.configuration("\(name): \(error.description)")
                }
            }
        } catch let error as AppURL.Invalid {
            throw .usage("--app-url: \(error.description)")
        } catch let error as ConfigError {
            throw error
        } catch {
            throw .configuration("\(error)")
        }

        // Every URL a request may go to follows the app URL's rules.
        var origins: [String: AppURL.Origin] = [:]
        for (type, target) in routes.table where !target.hasPrefix("/") {
            do {
                origins[type] = try AppURL.routeOrigin(target, allowInsecureHTTP: flags.allowInsecureHTTP)
            } catch {
                throw .usage("--route \(type): \(error.description)")
            }
        }
        var routeTokenFiles: [String: String] = [:]
        for text in flags.routeTokens {
            let parts = text.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                throw .usage("--route-token '\(text)' must look like TYPE=FILE (a file holding that route's token)")
            }
            guard routes.target(for: parts[0]) != nil else {
                throw .usage("--route-token \(parts[0]): no such route")
            }
            routeTokenFiles[parts[0]] = parts[1]
        }

        let claimed = flags.jobTypes.isEmpty ? routes.types : flags.jobTypes
        var targets: [String: String] = [:]
        var foreignTypes: Set<String> = []
        for type in claimed {
            targets[type] = appURL.resolve(routes.target(for: type)!)
            if let origin = origins[type], origin != appURL.origin { foreignTypes.insert(type) }
        }
        return RunConfiguration(settings: settings, appURL: appURL, routes: routes, targets: targets,
                                foreignTypes: foreignTypes, routeTokenFiles: routeTokenFiles)
    }

    private static func size(_ text: String?, _ flag: String, default value: Int) throws(ConfigError) -> Int {
        guard let text else { return value }
        let bytes: Int
        do { bytes = try SizeText.bytes(text) } catch { throw .usage("\(flag): \(error.description)") }
        guard bytes > 0 else { throw .usage("\(flag) must be greater than zero") }
        return bytes
    }

    private static func duration(_ text: String?, _ flag: String, default value: Double) throws(ConfigError) -> Double {
        guard let text else { return value }
        let seconds: Double
        do { seconds = try DurationText.seconds(text) } catch { throw .usage("\(flag): \(error.description)") }
        guard seconds > 0 else { throw .usage("\(flag) must be greater than zero") }
        return seconds
    }
}
