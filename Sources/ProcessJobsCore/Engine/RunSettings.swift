/// How a run behaves; built from flags and environment by the CLI, defaults here.
public struct RunSettings: Sendable {
    /// At most this many jobs claimed per statement.
    public var batchSize = 50
    /// At most this many requests in flight.
    public var concurrency = 16
    /// --route-concurrency: at most this many requests of a type in flight in this process
    /// (the claim applies it across all runners too, through `limits`).
    public var routeConcurrency: [String: Int] = [:]
    /// Per type: --route-rate/--route-burst and --route-concurrency, applied by the claim
    /// against the state every runner shares.
    public var limits: [String: RouteLimits] = [:]
    /// --fair-by: round robin over users (default), or oldest first.
    public var fairBy: FairBy = .user
    /// --user-concurrency: at most this many jobs of one user in flight across all runners.
    public var userConcurrency: Int? = nil
    public var requestTimeout: Double = 120
    /// Lease taken per claim; must outlast a request plus its wait in the local queue.
    public var lease: Double = RunSettings.defaultLease(requestTimeout: 120)
    /// Stop claiming after this long (nil: drain until nothing is due).
    public var maxRuntime: Double? = 300
    /// One batch only.
    public var once = false
    /// After SIGTERM, how long requests in flight may take before they are cut.
    public var grace: Double = 25
    public var retry = RetryPolicy.standard
    /// Delay before a job whose request could not be sent is tried again (uncharged).
    public var unsentDelay: Double = 10
    /// This many requests in a row that could not be sent stop the run (exit 69).
    public var circuitThreshold = 3
    /// Outcomes wait at most this long, or until a batch of them gathers, before being written.
    public var recordDelay: Double = 0.1
    /// After a claim that found fewer jobs than asked, wait this long before asking again while
    /// requests are still in flight (their answers may queue new work, e.g. a complete pack).
    public var idleClaimInterval: Double = 0.25
    /// A body over this many bytes fails its job at once, unsent (--max-payload).
    public var maxPayload = 10 * 1024 * 1024
    /// Bodies of requests in flight and of claimed jobs not yet sent stay within this many bytes
    /// (--max-inflight-bytes); a single larger body goes alone.
    public var maxInflightBytes = 64 * 1024 * 1024
    /// --on-failure: the job type queued for each job that ends failed (nil: none).
    public var onFailure: String? = nil
    /// Listen mode: a route held by the shared state (a pause until resumed, a distant rate
    /// slot) is asked about again at least this often (--poll-interval); nil: when its gate says.
    public var heldRecheck: Double? = nil
    /// Seed for backoff jitter (nil: from the system).
    public var seed: UInt64? = nil

    public init() {}

    /// The lease when --lease is not given: a claimed job may wait for one request ahead of it
    /// before its own, and the lease covers both, with a minute to spare.
    public static func defaultLease(requestTimeout: Double) -> Double { 2 * requestTimeout + 60 }
}
