import TES
import Testing

@Suite struct TESTaskIDTests {
    @Test func idsAreURLSafeAndWellFormed() {
        let id = TESTaskID.make(milliseconds: 1_700_000_000_000, random: (.max, .max))
        #expect(id.count == 26)
        #expect(TESTaskID.isWellFormed(id))
        #expect(id.allSatisfy { $0.isLowercase || $0.isNumber })
        #expect(!TESTaskID.isWellFormed("01M809ZA5QBQDZKTXPPACVQCP7"))
    }

    @Test func idsSortByCreationTime() {
        let earlier = TESTaskID.make(milliseconds: 1_700_000_000_000, random: (.max, .max))
        let later = TESTaskID.make(milliseconds: 1_700_000_000_001, random: (0, 0))
        #expect(earlier < later)
    }

    @Test func randomBitsAllReachTheId() {
        let a = TESTaskID.make(milliseconds: 5, random: (0, 0))
        let b = TESTaskID.make(milliseconds: 5, random: (1 << 15, 0))
        let c = TESTaskID.make(milliseconds: 5, random: (0, 1))
        #expect(Set([a, b, c]).count == 3)
        #expect(a.prefix(10) == b.prefix(10))
    }

    @Test func theGeneratorIsStrictlyIncreasingWithinAMillisecondAndAcrossClockSteps() {
        var generator = TESTaskIDGenerator()
        var ids: [String] = []
        var seed: UInt64 = 99
        for ms: UInt64 in [10, 10, 10, 11, 9, 12] {
            ids.append(
                generator.next(milliseconds: ms) {
                    seed = seed &* 6_364_136_223_846_793_005 &+ 1
                    return (UInt16(truncatingIfNeeded: seed), seed)
                }
            )
        }
        #expect(ids == ids.sorted())
        #expect(Set(ids).count == ids.count)
    }
}

@Suite struct TESTaskIDTimeTests {
    @Test func anIdGivesBackItsMillisecondsAndTheEarliestIdOfAMillisecondSortsFirst() {
        let id = TESTaskID.make(milliseconds: 1_700_000_123_456, random: (9, 9))
        #expect(TESTaskID.milliseconds(of: id) == 1_700_000_123_456)
        #expect(TESTaskID.milliseconds(of: "not an id") == nil)
        let earliest = TESTaskID.earliest(atMilliseconds: 1_700_000_123_456)
        #expect(earliest <= id)
        #expect(TESTaskID.make(milliseconds: 1_700_000_123_455, random: (.max, .max)) < earliest)
    }
}
