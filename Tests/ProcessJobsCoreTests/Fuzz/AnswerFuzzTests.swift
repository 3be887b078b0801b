import XCTest
@testable import ProcessJobsCore

/// The app's answers: Retry-After and Date headers, statuses and bodies. Nothing in an answer may
/// trap; a Retry-After gives a finite delay of at least zero, or none.
final class AnswerFuzzTests: XCTestCase {
    static let days = ["Mon,", "Tue,", "Wed,", "Thu,", "Fri,", "Sat,", "Sun,"]
    static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    static let dateWords = days + months + ["GMT", "UTC", " ", " ", "06", "31", "32", "1994", "2025", "9999", "08:49:37",
                                            "23:59:60", "24:00:00", ":", "-"] + Hostile.boundaryIntegers

    /// An IMF-fixdate for Unix seconds (years 1 to 9999), as an app would write it.
    static func imfDate(_ unix: Int) -> String {
        let days = unix >= 0 ? unix / 86_400 : -((-unix + 86_399) / 86_400)
        let (year, month, day) = TimeText.civil(fromDays: days)
        let inDay = unix - days * 86_400
        func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
        let weekday = Self.days[((days % 7) + 7 + 3) % 7]  // 1970-01-01 was a Thursday
        let paddedYear = String(repeating: "0", count: max(0, 4 - String(year).count)) + String(year)
        return "\(weekday) \(two(day)) \(months[month - 1]) \(paddedYear) \(two(inDay / 3600)):\(two(inDay % 3600 / 60)):\(two(inDay % 60)) GMT"
    }

    static func hostileDate(_ hostile: inout Hostile) -> String {
        switch Int.random(in: 0..<4, using: &hostile) {
        case 0:
            return "\(hostile.pick(days)) \(hostile.pick(Hostile.boundaryIntegers)) \(hostile.pick(months)) "
                + "\(hostile.pick(Hostile.boundaryIntegers)) \(hostile.pick(Hostile.boundaryIntegers)):"
                + "\(hostile.pick(Hostile.boundaryIntegers)):\(hostile.pick(Hostile.boundaryIntegers)) GMT"
        case 1: return hostile.mutate(imfDate(Int.random(in: -62_135_596_800...253_402_300_799, using: &hostile)), dateWords)
        case 2: return hostile.text(dateWords, maxPieces: 12)
        default: return hostile.byteString()
        }
    }

    struct RetryAfterInput {
        var value: String
        var date: String?
        var now: Double
    }

    func testRetryAfterGivesAFiniteDelayOrNone() {
        var fixed: [RetryAfterInput] = []
        for year in Hostile.boundaryIntegers {
            fixed.append(.init(value: "Sun, 06 Nov \(year) 08:49:37 GMT", date: nil, now: 0))
            fixed.append(.init(value: "Sun, 06 Nov 1994 08:49:37 GMT", date: "Sun, 06 Nov \(year) 08:49:37 GMT", now: 0))
            fixed.append(.init(value: "Sun, \(year) Nov 1994 \(year):\(year):\(year) GMT", date: nil, now: 0))
            fixed.append(.init(value: year, date: nil, now: 0))
        }
        Fuzz.run(self, "RetryAfter", fixed: fixed, bytes: { Array(($0.value + "\n" + ($0.date ?? "")).utf8) }, generate: { hostile in
            let value = hostile.chance(30) ? hostile.pick(Hostile.boundaryIntegers) : Self.hostileDate(&hostile)
            return RetryAfterInput(value: value, date: hostile.chance(50) ? Self.hostileDate(&hostile) : nil,
                                   now: hostile.double(finite: true))
        }) { input in
            if let delay = RetryAfter.seconds(input.value, responseDate: input.date, now: input.now) {
                XCTAssertTrue(delay.isFinite && delay >= 0, "Retry-After \(input.value.debugDescription), Date \(input.date.debugDescription): \(delay)")
            }
        }
    }

    /// Every date of years 1 to 9999 reads back: delay = target - the answer's Date.
    func testRetryAfterDatesRoundTrip() {
        var hostile = Hostile(seed: Fuzz.seed)
        for _ in 0..<5_000 {
            let reference = Int.random(in: -62_135_596_800...253_402_200_000, using: &hostile)
            let delay = Int.random(in: 0...86_400, using: &hostile)
            let value = Self.imfDate(reference + delay), date = Self.imfDate(reference)
            XCTAssertEqual(RetryAfter.seconds(value, responseDate: date, now: 0), Double(delay), "\(value) after \(date)")
            XCTAssertEqual(RetryAfter.seconds(value, responseDate: nil, now: Double(reference)), Double(delay), value)
            XCTAssertEqual(RetryAfter.seconds(String(delay), responseDate: date, now: 0), Double(delay))
        }
    }

    static let bodyWords = [#"{"error":"#, #"{"error":{"message":"#, #"{"message":"#, #""quota exceeded""#, "}", "{", "[", "]",
                            ",", ":", "null", "true", "1e400", "-0", #""\u0000""#, #""\ud800""#, #""\ud83d\ude00""#, "\"", "\\",
                            "<html>", "\n", "\r\n", "\t"]

    static func hostileBody(_ hostile: inout Hostile) -> [UInt8] {
        switch Int.random(in: 0..<5, using: &hostile) {
        case 0: return hostile.bytes(maxCount: 300)
        case 1: return Array(hostile.text(bodyWords, maxPieces: 16).utf8)
        case 2: return Array(JSONFuzzTests.document(&hostile, depth: 0).utf8)
        case 3:
            let depth = Int.random(in: 400...3000, using: &hostile)
            return Array(("{\"error\":" + String(repeating: hostile.pick(["[", "{\"a\":", "{\"error\":"]), count: depth)).utf8)
        default: return Array(("{\"error\":" + JSONText.quote(hostile.text(Hostile.hostilePieces, maxPieces: 40)) + "}").utf8)
        }
    }

    static let statuses = [Int.min, -1, 0, 99, 100, 199, 200, 204, 299, 300, 301, 399, 400, 401, 403, 404, 408, 425, 429,
                           499, 500, 502, 503, 504, 599, 600, 999, Int.max]

    func testAnswersClassifyWithinBounds() {
        let fixed = Self.statuses.map { Response(status: $0, body: Array(#"{"error":"x"}"#.utf8),
                                                 headers: .init(retryAfter: "Sun, 06 Nov 300000000000 08:49:37 GMT")) }
        Fuzz.run(self, "Verdict", fixed: fixed, bytes: { response in
            Array("\(response.status)\n\(response.headers.retryAfter ?? "")\n\(response.headers.date ?? "")\n".utf8) + response.body
        }, generate: { hostile in
            var headers = ResponseHeaders()
            if hostile.chance(60) { headers.retryAfter = hostile.chance(40) ? hostile.pick(Hostile.boundaryIntegers) : Self.hostileDate(&hostile) }
            if hostile.chance(50) { headers.date = Self.hostileDate(&hostile) }
            if hostile.chance(20) { headers.location = hostile.text(Hostile.hostilePieces) }
            let status = hostile.chance(70) ? hostile.pick(Self.statuses) : Int.random(in: 100...599, using: &hostile)
            return Response(status: status, body: Self.hostileBody(&hostile), truncated: hostile.chance(10), headers: headers)
        }) { response in
            // Cases tested one by one, not by an exhaustive switch: a new kind of verdict must not
            // stop this file from compiling.
            let verdict = Verdict.classify(.response(response), now: 1_750_000_000)
            if case .success(let result?) = verdict {
                XCTAssertFalse(response.truncated)
                XCTAssertEqual(Array(result.utf8), response.body, "a success result is the body as sent")
            }
            if case .transient(let error, let retryAfter) = verdict {
                XCTAssertLessThanOrEqual(error.count, Verdict.maxErrorLength)
                if let retryAfter { XCTAssertTrue(retryAfter.isFinite && retryAfter >= 0, "\(retryAfter)") }
            }
            if case .permanent(let error) = verdict, !(300..<400).contains(response.status) {
                XCTAssertLessThanOrEqual(error.count, Verdict.maxErrorLength)
            }
            if case .tokenRejected(let status) = verdict {
                XCTAssertTrue(status == 401 || status == 403)
            }
            if case .notSent = verdict {
                XCTFail("an answer is never 'not sent'")
            }
        }
    }
}
