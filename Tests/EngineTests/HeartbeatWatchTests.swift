import TES
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

@Suite struct DriverMemoryTests {
    @Test func aFollowedTaskKeepsNoInlineContent() {
        var task = TESTask(
            inputs: [TESInput(path: "/a", content: String(repeating: "c", count: 1 << 20)), TESInput(url: "ftp://h/b", path: "/b")],
            executors: [TESExecutor(image: "alpine", command: ["true"])]
        )
        task.dropInputContent()
        #expect(task.inputs?.map(\.content) == [nil, nil])
        #expect(task.inputs?.map(\.path) == ["/a", "/b"])
    }
}
