import Testing

@testable import Engine

@Suite struct HeartbeatWatchTests {
    @Test func theFirstCheckWaitsOneIntervalAfterTheSubmit() {
        // Asking Pulsar for the heartbeat before the script wrote it makes Pulsar log its token in a 500 line.
        var fresh = TaskDriver.HeartbeatWatch(since: .now - .seconds(5))
        let freshDue = fresh.isDue(every: .seconds(10))
        #expect(!freshDue)
        var older = TaskDriver.HeartbeatWatch(since: .now - .seconds(11))
        let first = older.isDue(every: .seconds(10))
        let second = older.isDue(every: .seconds(10))  // and then once per interval
        #expect(first && !second)
    }
}
