import Logging
import PostgresClient

/// The driver of one run: it does the I/O the scheduler asks for and feeds back what happened.
/// Single-threaded: the transport multiplexes requests, and one tick statement at a time is out
/// to the database while requests go on, so HTTP and the database work side by side. Every
/// decision is the Scheduler's.
public final class Runner {
    private var store: any TickStore
    private let transport: any Transport
    private let settings: RunSettings
    /// Job type to full URL, for the types this run claims.
    private let targets: [String: String]
    private let credentials: Credentials
    private let stop: StopSignal?
    private let log: Logger
    private let clock = MonotonicClock()
    private let observer: (RunProgress) -> Void
    private var scheduler: Scheduler
    private let started: Double
    /// Listen mode: a lost connection does not end the run. This opens a new one (throwing while
    /// the database is still unreachable); meanwhile requests go on, their outcomes wait, and
    /// they are written after the reconnect. Nil: a database error ends the run (the timer's way).
    public var reconnect: (() throws(PostgresError) -> any TickStore)?
    /// Listen mode: the listening connection's socket (nil while it is down), watched while no
    /// tick is out, and what reads it: true when a job became due, so the run claims at once.
    public var notifications: (descriptor: () -> Int32?, take: () -> Bool)?
    /// Called at every turn of the driver (listen mode: the health check's heartbeat, systemd's
    /// watchdog), at least once a second: a run that keeps working is a loop that turns.
    public var everyTurn: (() -> Void)?

    public init(store: any TickStore, transport: any Transport, settings: RunSettings, targets: [String: String],
                credentials: Credentials, stop: StopSignal?, log: Logger, observer: @escaping (RunProgress) -> Void = { _ in }) {
        self.store = store
        self.transport = transport
        self.settings = settings
        self.targets = targets
        self.credentials = credentials
        self.stop = stop
        self.log = log
        self.observer = observer
        started = clock.now()
        scheduler = Scheduler(settings: settings, types: Array(targets.keys), started: started, hangups: stop?.hangups() ?? 0)
    }

    /// Runs until done. A database error ends the run at once: requests in flight are cut and
    /// their jobs stay leased, so the next run gets them back when the lease expires.
    public func run() throws(PostgresError) -> RunReport {
        let tripsBefore = store.roundTrips
        var reason = StopReason.drained
        var probe = JobStore.Probe(hasWork: false, schemaVersion: 0)
        do {
            // Most timer runs find nothing: a cheap probe ends them before the tick is planned.
            // The same statement reads the schema version: an older schema lacks what the tick
            // relies on for limits across runners, so the run stops before claiming anything.
            probe = try store.probe(types: targets.keys.sorted(), lease: settings.lease)
            switch SchemaVersion.check(found: probe.schemaVersion) {
            case .older(let found, let needed):
                reason = .schemaOutdated(found: found, needed: needed)
            case .newer(let found, let known):
                log.warning("the database schema is version \(found), newer than this runner knows (\(known)): upgrade process-jobs on every host; this run goes on, but may not honour what the newer release added")
                fallthrough
            case .current:
                if probe.hasWork { reason = try loop() }
            }
        } catch {
            let lost = scheduler.unwritten(cut: transport.abortAll())
            if !lost.isEmpty {
                log.error("database unavailable: \(lost.count) outcome(s) not recorded; those jobs stay leased and come back when the lease expires",
                          metadata: ["jobs": .string(lost.joined(separator: ","))])
            }
            throw error
        }
        let now = clock.now()
        return RunReport(summary: scheduler.summary, stopReason: reason, seconds: now - started,
                         roundTrips: max(0, store.roundTrips - tripsBefore), pausedRoutes: scheduler.pausedRoutes(now: now),
                         foundNothing: !probe.hasWork, nextDueIn: probe.hasWork ? nil : probe.nextDueIn)
    }

    private func loop() throws(PostgresError) -> StopReason {
        // While the connection is lost (listen mode): the error, and when to try again.
        var outage: (error: PostgresError, policy: ReconnectPolicy)?
        var random = SplitMix64(seed: SplitMix64.systemSeed())
        while true {
            if let (error, policy) = outage {
                outage = try waitOut(error, policy: policy)
                continue
            }
            do throws(PostgresError) {
                if let reason = try turn() { return reason }
            } catch where reconnect != nil && error.isTransient {
                scheduler.tickLost(now: clock.now())
                var policy = ReconnectPolicy.standard
                _ = policy.failed(at: clock.now(), random: random.nextUnit())
                log.warning("database connection lost: \(error.message); requests go on, their outcomes are written after the reconnect")
                outage = (error, policy)
            }
        }
    }

    /// One turn while the connection is lost: answers are taken in (their outcomes wait), and
    /// a new connection is tried when the policy says. Nil once connected again. A stop with
    /// nothing left in flight ends the run with the error: the outcomes not written are named.
    private func waitOut(_ error: PostgresError, policy: ReconnectPolicy) throws(PostgresError) -> (error: PostgresError, policy: ReconnectPolicy)? {
        var policy = policy
        everyTurn?()
        if let stop {
            perform(scheduler.signals(stops: stop.received(), hangups: stop.hangups(), now: clock.now()))
        }
        if scheduler.stopReason != nil && scheduler.inFlightCount == 0 { throw error }
        if policy.due(at: clock.now()), let reconnect {
            do {
                store = try reconnect()
                if let outage = policy.connected(at: clock.now()) {
                    log.notice("database connection back after \(DurationText.format(outage.seconds)): writing the outcomes that waited")
                }
                return nil
            } catch where error.isTransient {
                _ = policy.failed(at: clock.now(), random: Double.random(in: 0..<1))
            }
        }
        let timeout = max(0, min((policy.nextTry ?? clock.now()) - clock.now(), 1))
        for completion in transport.wait(timeout: timeout, watching: nil) {
            perform(scheduler.answered(tag: completion.tag, exchange: completion.exchange, seconds: completion.seconds,
                                       now: clock.now(), wallNow: WallClock.now()))
        }
        return (error, policy)
    }

    /// One turn of the loop: a reason when the run is over.
    private func turn() throws(PostgresError) -> StopReason? {
        everyTurn?()
        if let stop {
            perform(scheduler.signals(stops: stop.received(), hangups: stop.hangups(), now: clock.now()))
        }
        if scheduler.tickOut, let result = try store.pollTick() {
            perform(scheduler.tickFinished(result, now: clock.now()))
            observer(scheduler.progress(now: clock.now()))
        }
        var wake: Double?
        steps: while true {
            for action in scheduler.next(now: clock.now()) {
                switch action {
                case .tick(let outcomes, let claim, let pauses):
                    try store.beginTick(outcomes: outcomes, claim: claim, pauses: pauses)
                case .readBody(let job):
                    let body = try store.body(of: job)
                    scheduler.bodyRead(job, body: body, now: clock.now())
                    continue steps
                case .wait(let until):
                    wake = until
                case .finish(let reason):
                    return reason
                default:
                    perform([action])
                }
            }
            break
        }
        let now = clock.now()
        var timeout = max(0, (wake ?? now + 1) - now)
        // Recording and claiming wait for the tick out; its deadline does not.
        if scheduler.tickOut, let left = store.secondsLeft { timeout = min(timeout, left) }
        let listening = scheduler.tickOut ? nil : notifications?.descriptor()
        let completions = transport.wait(timeout: timeout, watching: scheduler.tickOut ? store.socket : listening)
        for completion in completions {
            perform(scheduler.answered(tag: completion.tag, exchange: completion.exchange, seconds: completion.seconds,
                                       now: clock.now(), wallNow: WallClock.now()))
        }
        // Read whenever it was watched, so a readable socket never makes the next wait return at once.
        if listening != nil, notifications?.take() == true { scheduler.notified() }
        return nil
    }

    /// The actions that need no database: sending, cutting, logging.
    private func perform(_ actions: [SchedulerAction]) {
        for action in actions {
            switch action {
            case .send(let job, let tag):
                // The scheduler sends only jobs of the claimed types, with their body.
                guard let body = job.body, let url = targets[job.type] else { continue }
                transport.start(Request.forJob(job, body: body, url: url, token: credentials.token(for: job.type)?.value,
                                               trace: TraceContext(jobID: job.id, span: TraceContext.newSpan()),
                                               signing: credentials.signing, now: Int(WallClock.now())), tag: tag)
            case .cutInFlight(let reason):
                perform(scheduler.cut(tags: transport.abortAll(), reason: reason, now: clock.now()))
            case .log(let event):
                log.log(level: event.level, "\(event.message)", metadata: event.metadata)
            case .tick, .readBody, .wait, .finish:
                // Driven by the loop, which owns the database and the waiting.
                break
            }
        }
    }
}

/// A snapshot for live progress on a terminal.
public struct RunProgress: Sendable {
    public let claimed, completed, retried, failed, released, inFlight: Int
    public let seconds: Double
}
