#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Logging
import PostgresClient

/// The resident loop of `run --listen`: it sleeps on the listening connection and the stop
/// signal's pipe, and runs a burst (one Runner run: probe, then claim and send until drained;
/// no probe when a notification said a job is due now) when ClaimTimer says so. Each burst is an ordinary run, so leases, fencing, flow control,
/// the grace after SIGTERM and the exit codes hold unchanged. What is not a run's end here:
/// the database going away (the main connection is reopened with backoff, then a burst claims
/// what arrived meanwhile) and the app being unreachable (the circuit opens for a while).
public final class ListenLoop {
    private let listener: Listener
    private let stop: StopSignal
    private var timer: ClaimTimer
    private let maxRuntime: Double?
    private let log: Logger
    private let clock = MonotonicClock()
    private var random = SplitMix64(seed: SplitMix64.systemSeed())
    private var database = ReconnectPolicy.standard

    /// What the caller does for the loop.
    public struct Hooks {
        /// One burst, given what is left of --max-runtime (nil: no limit) and whether it starts
        /// with the probe (false: a notification said a job is due now, claim at once). Throws a
        /// PostgresError when the database failed (a transient one is retried here), or
        /// whatever ends the process (a rejected token, a configuration error).
        public var burst: (_ left: Double?, _ probe: Bool) throws -> RunReport
        /// Opens the main connection again after it was lost (a PostgresError while it cannot).
        public var reconnect: () throws -> Void
        /// A SIGHUP arrived: read the token and signing-secret files again.
        public var reload: () -> Void
        /// Every turn of the loop, at the monotonic time given (heartbeat, watchdog, status,
        /// metrics); returns when it next wants a turn, nil for no particular time.
        public var turned: (Double) -> Double?

        public init(burst: @escaping (_ left: Double?, _ probe: Bool) throws -> RunReport, reconnect: @escaping () throws -> Void,
                    reload: @escaping () -> Void, turned: @escaping (Double) -> Double?) {
            self.burst = burst
            self.reconnect = reconnect
            self.reload = reload
            self.turned = turned
        }
    }

    /// `listener` must have started (it is listening). `maxRuntime`: only when given explicitly.
    public init(listener: Listener, stop: StopSignal, pollInterval: Double, maxRuntime: Double?, log: Logger) {
        self.listener = listener
        self.stop = stop
        self.maxRuntime = maxRuntime
        self.log = log
        timer = ClaimTimer(pollInterval: pollInterval, now: clock.now())
    }

    /// Runs until a stop signal (`.signal`) or the end of --max-runtime (`.maxRuntime`).
    public func run(_ hooks: Hooks) throws -> StopReason {
        let started = clock.now()
        var hangupsSeen = stop.hangups()
        var databaseDown = false
        while true {
            var now = clock.now()
            let wanted = hooks.turned(now)
            if stop.received() > 0 { return .signal }
            let hangups = stop.hangups()
            if hangups > hangupsSeen {
                hangupsSeen = hangups
                hooks.reload()
            }
            let left = maxRuntime.map { $0 - (now - started) }
            if let left, left <= 0 { return .maxRuntime }

            switch try listener.service() {
            case .notified(let dueNow, _) where dueNow > 0: timer.notified(now: now)
            case .notified, .connected: timer.lookAgain(now: now)
            case .idle, .down: break
            }
            if databaseDown, database.due(at: now) {
                do {
                    try hooks.reconnect()
                    databaseDown = false
                    if let outage = database.connected(at: clock.now()) {
                        log.notice("database connection back after \(DurationText.format(outage.seconds)) (\(outage.failures) failed \(outage.failures == 1 ? "try" : "tries")): claiming what arrived meanwhile")
                    }
                    timer.lookAgain(now: clock.now())
                } catch let error as PostgresError where error.isTransient {
                    _ = database.failed(at: clock.now(), random: random.nextUnit())
                }
            }
            now = clock.now()
            if !databaseDown, timer.due(now: now) {
                do {
                    let report = try hooks.burst(left, timer.probes)
                    now = clock.now()
                    switch report.stopReason {
                    case .signal: return .signal
                    case .maxRuntime where maxRuntime != nil && now - started >= maxRuntime!: return .maxRuntime
                    case .appUnreachable(let error):
                        log.warning("the app is unreachable (\(error)): no claims for \(DurationText.format(timer.circuitPause)), then trying again")
                        timer.burstEnded(.appUnreachable, now: now)
                    case .rateLimited(let due):
                        timer.burstEnded(.held(nextDueIn: due), now: now)
                    default:
                        let burst: ClaimTimer.Burst = report.foundNothing ? .foundNothing(nextDueIn: report.nextDueIn)
                            : report.summary.claimed == 0 && report.summary.rescued == 0 ? .fruitless : .worked
                        timer.burstEnded(burst, now: now)
                    }
                } catch let error as PostgresError where error.isTransient {
                    databaseDown = true
                    let decision = database.failed(at: clock.now(), random: random.nextUnit())
                    if decision.firstOfOutage {
                        log.warning("database connection lost: \(error.message); reconnecting with backoff")
                    }
                }
                continue
            }
            wait(until: [databaseDown ? database.nextTry : timer.next, listener.reconnectAt, wanted,
                         maxRuntime.map { started + $0 }].compactMap { $0 }.min() ?? now + timer.pollInterval)
        }
    }

    /// Sleeps until `deadline`, a notification (the listening socket turns readable) or a signal.
    private func wait(until deadline: Double) {
        var descriptors = [pollfd(fd: stop.wakeDescriptor, events: Int16(POLLIN), revents: 0)]
        if let socket = listener.descriptor { descriptors.append(pollfd(fd: socket, events: Int16(POLLIN), revents: 0)) }
        let left = max(0, deadline - clock.now())
        _ = poll(&descriptors, nfds_t(descriptors.count), Int32(min(left * 1000, 3_600_000).rounded(.up)))
    }
}
