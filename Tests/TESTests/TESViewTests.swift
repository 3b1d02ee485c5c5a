import Foundation
import TES
import Testing

@Suite struct TESViewTests {
    static let fullTask = TESTask(
        id: "t1",
        state: .complete,
        name: "n",
        inputs: [TESInput(path: "/in", content: "secret-ish content")],
        executors: [TESExecutor(image: "a", command: ["b"])],
        logs: [
            TESTaskLog(
                logs: [TESExecutorLog(stdout: "out", stderr: "err", exitCode: 3)],
                startTime: Date(timeIntervalSince1970: 1),
                systemLogs: ["step failed"]
            )
        ],
        creationTime: Date(timeIntervalSince1970: 0)
    )

    @Test func minimalHasOnlyIdAndState() {
        #expect(Self.fullTask.projected(to: .minimal) == TESTask(id: "t1", state: .complete))
    }

    @Test func basicDropsOutputsOfExecutorsContentAndSystemLogs() throws {
        let basic = Self.fullTask.projected(to: .basic)
        #expect(basic.inputs?.first?.content == nil)
        #expect(basic.inputs?.first?.path == "/in")
        let log = try #require(basic.logs?.first)
        #expect(log.systemLogs == nil)
        #expect(log.logs.first?.stdout == nil && log.logs.first?.stderr == nil)
        #expect(log.logs.first?.exitCode == 3)
        #expect(log.startTime == Date(timeIntervalSince1970: 1))
        #expect(basic.name == "n" && basic.executors == Self.fullTask.executors)
    }

    @Test func fullIsEverything() {
        #expect(Self.fullTask.projected(to: .full) == Self.fullTask)
    }
}
