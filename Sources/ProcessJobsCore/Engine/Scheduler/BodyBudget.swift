/// --max-inflight-bytes: bodies of requests in flight and of claimed jobs not yet sent stay
/// within the budget; a single larger body goes alone. Bodies over --max-payload are never
/// loaded, so they count for nothing.
struct BodyBudget: Sendable {
    let maxInflightBytes: Int
    let maxPayload: Int

    /// The bytes a job's body holds while the run has it.
    func held(_ job: ClaimedJob) -> Int {
        job.bodySize <= maxPayload ? job.bodySize : 0
    }

    /// What a claim may bring in while the run holds `held` bytes, and whether it holds none
    /// (then the first job may go alone even when its body is over the budget).
    func claim(holding held: Int) -> (budget: Int, alone: Bool) {
        (maxInflightBytes - held, held == 0)
    }
}
