@testable import ProcessJobsCore

/// Jobs, answers and tick results for driving the scheduler without a database or an app.
enum SchedulerFixtures {
    static func job(_ id: String, type: String = "generate-image", retryCount: Int = 0, maxRetries: Int = 3,
                    body: String? = "{}", bodySize: Int = 2) -> ClaimedJob {
        ClaimedJob(id: id, type: type, retryCount: retryCount, maxRetries: maxRetries, claimedAt: "t",
                   previousProcessedAt: nil, body: body, payloadType: "object", bodySize: bodySize)
    }

    static func jobs(_ count: Int, type: String = "generate-image", from start: Int = 0) -> [ClaimedJob] {
        (start..<start + count).map { job("\(type)-\($0)", type: type) }
    }

    static func answer(_ status: Int, retryAfter: String? = nil) -> Exchange {
        .response(Response(status: status, body: Array("{}".utf8), headers: ResponseHeaders(retryAfter: retryAfter)))
    }

    static let unsent = Exchange.failure(.notSent("connection refused"))

    static func claimed(_ jobs: [ClaimedJob], holds: [RouteHold] = []) -> JobStore.TickResult {
        var result = JobStore.TickResult()
        result.claimed = jobs
        result.holds = holds
        return result
    }

    /// Every outcome of `outcomes` written as asked.
    static func recorded(_ outcomes: [PendingOutcome]) -> JobStore.TickResult {
        var result = JobStore.TickResult()
        result.recorded = outcomes.map { JobStore.Recorded(id: $0.job.id, status: "x", retryCount: $0.job.retryCount) }
        return result
    }

    static func settings(_ change: (inout RunSettings) -> Void = { _ in }) -> RunSettings {
        var settings = RunSettings()
        settings.seed = 7
        settings.maxRuntime = nil
        change(&settings)
        return settings
    }
}

/// What one call returned, picked apart.
extension Array where Element == SchedulerAction {
    var ticks: [(outcomes: [PendingOutcome], claim: JobStore.Claim?, pauses: [RoutePause])] {
        compactMap { if case .tick(let outcomes, let claim, let pauses) = $0 { (outcomes, claim, pauses) } else { nil } }
    }

    var claims: [JobStore.Claim] { ticks.compactMap(\.claim) }

    var sent: [(job: ClaimedJob, tag: Int)] {
        compactMap { if case .send(let job, let tag) = $0 { (job, tag) } else { nil } }
    }

    var logs: [LogEvent] {
        compactMap { if case .log(let event) = $0 { event } else { nil } }
    }

    var cuts: [String] {
        compactMap { if case .cutInFlight(let reason) = $0 { reason } else { nil } }
    }

    var wake: Double? {
        if case .wait(let until) = last { return until }
        return nil
    }

    var finished: StopReason? {
        if case .finish(let reason) = last { return reason }
        return nil
    }

    var bodyToRead: ClaimedJob? {
        if case .readBody(let job) = last { return job }
        return nil
    }
}
