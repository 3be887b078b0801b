/// What a job's row becomes after an attempt. Decided in Swift, written by one fenced statement.
public enum Outcome: Sendable, Equatable {
    /// 2xx: completed, with the endpoint's JSON answer (nil when it was not JSON).
    case complete(result: String?)
    /// A failed attempt that will be tried again `delay` seconds from now (database clock).
    case retry(error: String, delay: Double)
    /// A failed attempt that ends the job: permanent error, or retries exhausted.
    case fail(error: String)
    /// Not an attempt: back to pending without charge, `delay` seconds from now
    /// (nil leaves run_at as it was).
    case release(delay: Double?)

    public var kind: OutcomeKind {
        switch self {
        case .complete: .completed
        case .retry: .retried
        case .fail: .failed
        case .release: .released
        }
    }

    /// The action name the record statement understands.
    var action: String { kind.action ?? "" }
}

/// What became of a job in a run: the one place each outcome is spelled, for the tick
/// statement's action, the run summary, the log line and the metric label.
public enum OutcomeKind: String, Sendable, CaseIterable {
    case completed
    case retried
    case failed
    case released
    /// The database refused the outcome: another run had taken the lease over.
    case leaseLost = "lease_lost"

    /// The metric label (`outcome="retried"`) and the run summary's field name.
    public var label: String { rawValue }

    /// The log line's word: "job retry", outcome=retry, as operators' log queries know it.
    public var logWord: String { self == .retried ? "retry" : rawValue }

    /// The action the tick statement reads; nil when nothing is written.
    public var action: String? {
        switch self {
        case .completed: "complete"
        case .retried: "retry"
        case .failed: "fail"
        case .released: "release"
        case .leaseLost: nil
        }
    }
}
