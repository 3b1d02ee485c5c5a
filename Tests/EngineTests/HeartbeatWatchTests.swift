import Foundation
import TES
import Testing

@testable import Engine

@Suite struct HeartbeatWatchTests {
    let start = Date(timeIntervalSince1970: 1_800_000_000)

    @Test func theFirstCheckWaitsOneIntervalAfterTheJobIsSeenRunning() {
        // Asking Pulsar for the heartbeat before the script wrote it makes Pulsar log its token in a 500 line.
        var watch = HeartbeatWatch(since: start)
        let early = watch.isDue(every: .seconds(10), now: start.addingTimeInterval(5))
        let first = watch.isDue(every: .seconds(10), now: start.addingTimeInterval(11))
        let again = watch.isDue(every: .seconds(10), now: start.addingTimeInterval(12))  // and then once per interval
        #expect(!early && first && !again)
    }

    @Test func aJobIsDeadOnlyWhenItsHeartbeatStaysTheSameForTheTimeout() {
        var watch = HeartbeatWatch(since: start)
        let unreadEarly = watch.isDead(seen: nil, timeout: .seconds(60), now: start.addingTimeInterval(30))
        let firstBeat = watch.isDead(seen: "1", timeout: .seconds(60), now: start.addingTimeInterval(70))
        let sameSoon = watch.isDead(seen: "1", timeout: .seconds(60), now: start.addingTimeInterval(120))
        let sameTooLong = watch.isDead(seen: "1", timeout: .seconds(60), now: start.addingTimeInterval(131))
        #expect(!unreadEarly && !firstBeat && !sameSoon && sameTooLong)
    }
}

@Suite struct RunnerMemoryTests {
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
