import Testing

@testable import Engine

@Suite struct HeartbeatWatchTests {
    @Test func theFirstCheckWaitsOneIntervalAfterTheSubmit() {
        // Asking Pulsar for the heartbeat before the script wrote it makes Pulsar log its token in a 500 line.
        var fresh = TaskDriver.HeartbeatWatch(since: .now - .seconds(5))
        #expect(!fresh.isDue(every: .seconds(10)))
        var older = TaskDriver.HeartbeatWatch(since: .now - .seconds(11))
        #expect(older.isDue(every: .seconds(10)))
        #expect(!older.isDue(every: .seconds(10)))  // and then once per interval
    }
}
