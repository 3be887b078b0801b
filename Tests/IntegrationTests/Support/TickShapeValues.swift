@testable import ProcessJobsCore

/// What a tick of a given shape is called with, for the tests that run every shape: limits
/// and caps wide enough never to hold a job back, a pause of a type the claim does not take.
enum TickShapeValues {
    static func outcomes(_ shape: TickShape, held: [ClaimedJob]) -> [PendingOutcome] {
        shape.outcomes ? held.map { PendingOutcome(job: $0, outcome: .fail(error: "boom")) } : []
    }

    static func claim(_ shape: TickShape, type: String, quota: Int) -> JobStore.Claim? {
        guard shape.claim else { return nil }
        var limits = RouteLimits()
        if shape.rate { limits.rate = RouteRate(count: 100, period: 1, burst: 100) }
        if shape.concurrency { limits.concurrency = 100 }
        return .init(limit: quota, quotas: [(type, quota)], lease: 60, rescue: shape.rescue,
                     limits: shape.rate || shape.concurrency ? [type: limits] : [:],
                     fairBy: shape.fair ? .user : .none, userConcurrency: shape.userCap ? 100 : nil)
    }

    static func pauses(_ shape: TickShape, type: String) -> [RoutePause] {
        shape.pauses ? [RoutePause(type: type, seconds: 5, reason: "HTTP 429 from the app")] : []
    }
}
