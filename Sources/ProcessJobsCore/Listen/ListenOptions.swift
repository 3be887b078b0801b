/// The flags of `run --listen`, checked against each other and the rest of `run`'s: a resident
/// process has no batch to stop after (--once) and needs no timer of its own (--every).
/// Pure: the CLI passes what was typed.
public struct ListenOptions: Sendable, Equatable {
    /// --poll-interval: the backstop claim, for anything a notification missed (default 30s).
    public var pollInterval: Double = 30
    /// --metrics-interval: how often --metrics-file is rewritten (default 15s).
    public var metricsInterval: Double = 15
    /// --http ADDR:PORT as typed (HealthServer parses it).
    public var http: String?
    /// --listen-database-url, resolved against PROCESS_JOBS_LISTEN_DATABASE_URL and the main URL.
    public var database: ListenDatabaseURL

    public static let defaultPollInterval = 30.0
    public static let defaultMetricsInterval = 15.0

    /// What was typed on `run`, as far as listen mode cares.
    public struct Typed: Sendable {
        public var listen = false
        public var once = false
        public var every: String?
        public var pollInterval: String?
        public var metricsInterval: String?
        public var http: String?
        public var listenDatabaseURL: String?

        public init() {}
    }

    /// Nil without --listen; then its own flags are refused. `main` is the conninfo claims use.
    public static func resolve(_ typed: Typed, environment: [String: String], main: String?) throws(ConfigError) -> ListenOptions? {
        guard typed.listen else {
            let stray = [("--poll-interval", typed.pollInterval), ("--metrics-interval", typed.metricsInterval),
                         ("--http", typed.http), ("--listen-database-url", typed.listenDatabaseURL)]
                .first { $0.1 != nil }
            if let (flag, _) = stray { throw .usage("\(flag) goes with --listen") }
            return nil
        }
        if typed.once { throw .usage("--once claims one batch and exits; --listen runs until stopped: give one or the other") }
        if typed.every != nil { throw .usage("--every starts runs on a timer; --listen claims as jobs arrive: give one or the other") }
        var options = ListenOptions(database: try ListenDatabaseURL.resolve(flag: typed.listenDatabaseURL, environment: environment, main: main))
        options.pollInterval = try duration(typed.pollInterval, "--poll-interval", default: defaultPollInterval)
        options.metricsInterval = try duration(typed.metricsInterval, "--metrics-interval", default: defaultMetricsInterval)
        options.http = typed.http
        return options
    }

    private static func duration(_ text: String?, _ flag: String, default value: Double) throws(ConfigError) -> Double {
        guard let text else { return value }
        let seconds: Double
        do { seconds = try DurationText.seconds(text) } catch { throw .usage("\(flag): \(error.description)") }
        guard seconds >= 0.1 else { throw .usage("\(flag) must be at least 100ms, not \(text)") }
        return seconds
    }
}
