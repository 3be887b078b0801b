/// Which parts of the tick statement one tick needs. The server parses and plans every part a
/// statement holds, used or not, and planning the whole of it costs more than running a common
/// tick: so each tick sends only its parts (`Queries.tick(_:)`), one statement text per shape.
struct TickShape: Hashable, Sendable, CaseIterable {
    /// Outcomes to write.
    var outcomes: Bool
    /// A claim (with its gates, the fair shares and the body walk).
    var claim: Bool
    /// The claim also rescues expired leases.
    var rescue: Bool
    /// --on-failure: a job that ends failed here gets its failure job.
    var failureJobs: Bool
    /// Pauses to write to the shared route state.
    var pauses: Bool
    /// A claimed type has --route-rate.
    var rate: Bool
    /// A claimed type has --route-concurrency.
    var concurrency: Bool
    /// --fair-by user.
    var fair: Bool
    /// --user-concurrency.
    var userCap: Bool

    init(outcomes: Bool, claim: Bool, rescue: Bool = false, failureJobs: Bool = false, pauses: Bool = false,
         rate: Bool = false, concurrency: Bool = false, fair: Bool = false, userCap: Bool = false) {
        self.outcomes = outcomes
        self.claim = claim
        self.rescue = claim && rescue
        self.failureJobs = failureJobs && (outcomes || self.rescue)
        self.pauses = pauses
        self.rate = claim && rate
        self.concurrency = claim && concurrency
        self.fair = claim && fair
        self.userCap = claim && userCap
    }

    init(outcomes: [PendingOutcome], claim: JobStore.Claim?, pauses: [RoutePause], onFailure: String?) {
        let limits = (claim?.quotas ?? []).compactMap { claim?.limits[$0.type] }
        self.init(outcomes: !outcomes.isEmpty, claim: claim != nil, rescue: claim?.rescue ?? false,
                  failureJobs: onFailure != nil, pauses: !pauses.isEmpty,
                  rate: limits.contains { $0.rate != nil }, concurrency: limits.contains { $0.concurrency != nil },
                  fair: claim?.fairBy == .user, userCap: claim?.userConcurrency != nil)
    }

    /// A claimed route's state row is locked and moved on: a limit, fairness's cursor or the user cap.
    var coordinated: Bool { rate || concurrency || fair || userCap }

    /// Every distinct shape (those the initialiser can make).
    static let allCases: [TickShape] = {
        var shapes = Set<TickShape>()
        for bits in 0..<(1 << 9) {
            func bit(_ n: Int) -> Bool { bits & (1 << n) != 0 }
            shapes.insert(TickShape(outcomes: bit(0), claim: bit(1), rescue: bit(2), failureJobs: bit(3), pauses: bit(4),
                                    rate: bit(5), concurrency: bit(6), fair: bit(7), userCap: bit(8)))
        }
        return shapes.sorted { "\($0)" < "\($1)" }
    }()
}
