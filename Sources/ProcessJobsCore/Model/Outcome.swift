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

    /// The action name the record statement understands.
    var action: String {
        switch self {
        case .complete: "complete"
        case .retry: "retry"
        case .fail: "fail"
        case .release: "release"
        }
    }
}
