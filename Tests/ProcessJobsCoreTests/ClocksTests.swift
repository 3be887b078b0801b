import XCTest
@testable import ProcessJobsCore

final class ClocksTests: XCTestCase {
    func testSameSeedSameSequence() {
        var first = SplitMix64(seed: 42)
        var second = SplitMix64(seed: 42)
        var other = SplitMix64(seed: 43)
        let a = (0..<100).map { _ in first.next() }
        let b = (0..<100).map { _ in second.next() }
        let c = (0..<100).map { _ in other.next() }
        XCTAssertEqual(a, b)
        XCTAssertNotEqual(a, c)
        XCTAssertEqual(Set(a).count, 100)
    }

    func testReferenceVector() {
        // SplitMix64 as published (Steele, Lea, Flood; Vigna's C version), seed 0.
        var generator = SplitMix64(seed: 0)
        XCTAssertEqual(generator.next(), 0xE220_A839_7B1D_CDAF)
        XCTAssertEqual(generator.next(), 0x6E78_9E6A_A1B9_65F4)
        XCTAssertEqual(generator.next(), 0x06C4_5D18_8009_454F)
    }

    func testNextUnitIsInUnitInterval() {
        var generator = SplitMix64(seed: 7)
        var sum = 0.0
        let count = 10_000
        for _ in 0..<count {
            let unit = generator.nextUnit()
            XCTAssertGreaterThanOrEqual(unit, 0)
            XCTAssertLessThan(unit, 1)
            sum += unit
        }
        XCTAssertEqual(sum / Double(count), 0.5, accuracy: 0.02)

        var again = SplitMix64(seed: 7)
        var repeated = SplitMix64(seed: 7)
        XCTAssertEqual((0..<10).map { _ in again.nextUnit() }, (0..<10).map { _ in repeated.nextUnit() })
    }

    func testNextUnitUsesTheTop53Bits() {
        var generator = SplitMix64(seed: 0)
        var copy = generator
        XCTAssertEqual(generator.nextUnit(), Double(copy.next() >> 11) / 9_007_199_254_740_992)
    }
}
