import XCTest
@testable import ProcessJobsCore

final class RetryPolicyTests: XCTestCase {
    func testExponentialDelaysWithoutJitter() {
        let policy = RetryPolicy(base: 30, cap: 3600, jitter: 0)
        let cases: [(failedAttempts: Int, expected: Double)] = [
            (1, 30), (2, 60), (3, 120), (4, 240), (5, 480), (6, 960), (7, 1920),
            // The cap.
            (8, 3600), (9, 3600), (59, 3600), (60, 3600), (61, 3600), (1000, 3600), (Int.max, 3600),
            // Nonsense counts behave as the first failure.
            (0, 30), (-3, 30),
        ]
        for (failedAttempts, expected) in cases {
            for random in [0, 0.5, 1.0.nextDown] {
                XCTAssertEqual(policy.delay(failedAttempts: failedAttempts, retryAfter: nil, random: random), expected,
                               "after \(failedAttempts) failures, random \(random)")
            }
        }
    }

    func testJitterEnds() {
        let policy = RetryPolicy(base: 30, cap: 3600, jitter: 0.2)
        let top = 1.0.nextDown
        let cases: [(failedAttempts: Int, random: Double, expected: Double)] = [
            (1, 0, 24), (1, 0.5, 30), (1, top, 36),
            (2, 0, 48), (2, 0.5, 60), (2, top, 72),
            (7, 0, 1536), (7, 0.5, 1920), (7, top, 2304),
            // Raw delay at the cap: jitter spreads downward only.
            (8, 0, 2880), (8, 0.5, 3600), (8, top, 3600),
            (40, 0, 2880), (40, top, 3600),
        ]
        for (failedAttempts, random, expected) in cases {
            XCTAssertEqual(policy.delay(failedAttempts: failedAttempts, retryAfter: nil, random: random), expected,
                           accuracy: 1e-9, "after \(failedAttempts) failures, random \(random)")
        }
    }

    func testJitterStaysWithinBoundsAndUnderCap() {
        let policy = RetryPolicy(base: 30, cap: 3600, jitter: 0.2)
        for failedAttempts in 1...12 {
            let raw = min(3600, 30 * Double(1 << (failedAttempts - 1)))
            for step in 0..<100 {
                let random = Double(step) / 100
                let delay = policy.delay(failedAttempts: failedAttempts, retryAfter: nil, random: random)
                XCTAssertGreaterThanOrEqual(delay, raw * 0.8 - 1e-9, "after \(failedAttempts) failures, random \(random)")
                XCTAssertLessThanOrEqual(delay, min(3600, raw * 1.2), "after \(failedAttempts) failures, random \(random)")
            }
        }
    }

    func testRetryAfterIsUsedAndCapped() {
        let policy = RetryPolicy.standard
        let cases: [(retryAfter: Double, expected: Double)] = [
            (0, 0), (1, 1), (120, 120), (3600, 3600), (7200, 3600), (1e12, 3600),
            // A negative value (clock skew, a bad header) means "now".
            (-5, 0), (-1e9, 0),
        ]
        for (retryAfter, expected) in cases {
            for failedAttempts in [1, 5, 20] {
                for random in [0, 0.5, 1.0.nextDown] {
                    XCTAssertEqual(policy.delay(failedAttempts: failedAttempts, retryAfter: retryAfter, random: random),
                                   expected, "Retry-After \(retryAfter), after \(failedAttempts) failures")
                }
            }
        }
    }

    func testStandardPolicy() {
        XCTAssertEqual(RetryPolicy.standard, RetryPolicy(base: 30, cap: 3600, jitter: 0.2))
    }

    func testMayRetry() {
        let cases: [(retryCount: Int, maxRetries: Int, expected: Bool)] = [
            (0, 3, true), (1, 3, true), (2, 3, true), (3, 3, false), (4, 3, false),
            (0, 1, true), (1, 1, false),
            (0, 0, false), (1, 0, false),
        ]
        for (retryCount, maxRetries, expected) in cases {
            XCTAssertEqual(RetryPolicy.mayRetry(retryCount: retryCount, maxRetries: maxRetries), expected,
                           "retry_count \(retryCount), max_retries \(maxRetries)")
        }
    }

    func testAttemptsInAll() {
        // retry_count counts failed attempts before this one; every failure retries while allowed.
        for (maxRetries, attempts) in [(0, 1), (1, 2), (3, 4), (5, 6)] {
            var retryCount = 0
            var made = 1
            while RetryPolicy.mayRetry(retryCount: retryCount, maxRetries: maxRetries) {
                retryCount += 1
                made += 1
            }
            XCTAssertEqual(made, attempts, "max_retries \(maxRetries)")
        }
    }
}
