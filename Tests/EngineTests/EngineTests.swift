import Foundation
import Synchronization
import TES
import TaskStore
import Testing

@testable import Engine

/// The engine's decisions, in process: fake backends, the in-memory store, a clock the test moves.
@Suite struct EngineTests {
    @Test func aTaskIsInitializingWhileQueuedOnTheBackendThenRunningThenComplete() async throws {
        let harness = EngineHarness([BackendDescription(name: "a")])
        harness.start()
        defer { Task { await harness.stop() } }
        let id = try await harness.create()
        let backend = harness.backend("a")
        try await advance(harness.clock, until: { backend.job(id)?.submissions == 1 })
        // Submitted, but waiting in the backend's queue: not RUNNING (TES: RUNNING = the first executor started).
        for _ in 0..<20 { harness.clock.advance(by: .milliseconds(200)); try await Task.sleep(for: .milliseconds(1)) }
        #expect(try await harness.state(id) == .initializing)
        backend.setState(of: id, .running)
        try await harness.wait(for: id, .running)
        #expect(try await harness.task(id).logs?.first?.startTime == nil ? false : true)
        backend.setState(of: id, .finished)
        try await harness.wait(for: id, .complete)
        let task = try await harness.task(id)
        #expect(task.logs?.first?.metadata?[TaskRunner.metadataBackend] == "a")
        #expect(task.logs?.first?.metadata?[TaskRunner.metadataJobID] == "tesp-" + id)
        #expect(task.logs?.first?.metadata?["fake_job"] == "tesp-" + id)
        #expect(task.logs?.first?.logs.map(\.exitCode) == [0])
        #expect(backend.job(id)?.cleaned == true)
        #expect(backend.calls("submit") == 1 && backend.calls("collect") == 1)
    }

    @Test func leastLoadedSpreadsTasksOverTwoBackendsByTheirJobsInFlight() async throws {
        let harness = EngineHarness([BackendDescription(name: "a"), BackendDescription(name: "b")])
        harness.start()
        defer { Task { await harness.stop() } }
        var ids: [String] = []
        for _ in 0..<10 { ids.append(try await harness.create()) }
        try await advance(harness.clock, until: { harness.backends.map(\.submittedTaskIDs.count).reduce(0, +) == 10 })
        #expect(harness.backend("a").submittedTaskIDs.count == 5)
        #expect(harness.backend("b").submittedTaskIDs.count == 5)
        // The counts come from the store: finished tasks no longer count.
        for id in harness.backend("a").submittedTaskIDs { harness.backend("a").setState(of: id, .finished) }
        for id in harness.backend("a").submittedTaskIDs { try await harness.wait(for: id, .complete) }
        var more: [String] = []
        for _ in 0..<4 { more.append(try await harness.create()) }
        try await advance(harness.clock, until: { harness.backend("a").submittedTaskIDs.count == 9 })
        #expect(harness.backend("b").submittedTaskIDs.count == 5)
    }

    @Test(arguments: [(PlacementPolicyKind.roundRobin, [3, 3]), (.fitFirst, [6, 0])])
    func otherPolicies(policy: PlacementPolicyKind, expected: [Int]) async throws {
        let harness = EngineHarness([BackendDescription(name: "a"), BackendDescription(name: "b")]) { $0.placementPolicy = policy }
        harness.start()
        defer { Task { await harness.stop() } }
        for _ in 0..<6 { try await harness.create() }
        try await advance(harness.clock, until: { harness.backends.map(\.submittedTaskIDs.count).reduce(0, +) == 6 })
        #expect(harness.backends.map(\.submittedTaskIDs.count) == expected)
    }

    @Test func admissionKeepsTasksQueuedUntilThereIsRoomThenStartsTheOldestFirst() async throws {
        let harness = EngineHarness([BackendDescription(name: "a", maxJobs: 2)])
        harness.start()
        defer { Task { await harness.stop() } }
        var ids: [String] = []
        for _ in 0..<5 { ids.append(try await harness.create()) }
        let backend = harness.backend("a")
        try await advance(harness.clock, until: { backend.submittedTaskIDs.count == 2 })
        for _ in 0..<20 { harness.clock.advance(by: .milliseconds(200)); try await Task.sleep(for: .milliseconds(1)) }
        #expect(Set(backend.submittedTaskIDs) == Set(ids.prefix(2)))
        for id in ids.dropFirst(2) { #expect(try await harness.state(id) == .queued) }
        backend.setState(of: ids[1], .finished)
        try await harness.wait(for: ids[1], .complete)
        try await advance(harness.clock, until: { backend.submittedTaskIDs.count == 3 })
        #expect(backend.submittedTaskIDs.contains(ids[2]))
        #expect(try await harness.state(ids[3]) == .queued)
        #expect(try await harness.state(ids[4]) == .queued)
    }

    @Test func aBackendThatIsDownGetsNoNewTasks() async throws {
        let harness = EngineHarness([BackendDescription(name: "a"), BackendDescription(name: "b")])
        harness.backend("a").setHealthy(false)
        harness.start()
        defer { Task { await harness.stop() } }
        try await advance(harness.clock, until: { !harness.registry.isAvailable("a") })
        for _ in 0..<6 { try await harness.create() }
        try await advance(harness.clock, until: { harness.backend("b").submittedTaskIDs.count == 6 })
        #expect(harness.backend("a").calls("prepare") == 0)
    }

    @Test func aTaskNotYetSubmittedIsPlacedAgainWhenItsBackendGoesDown() async throws {
        // No scan after the first: the runner itself hands the task back to the scheduler.
        let harness = EngineHarness([BackendDescription(name: "a"), BackendDescription(name: "b")]) {
            $0.placementPolicy = .fitFirst
            $0.scanInterval = .seconds(3600)
        }
        harness.backend("a").setHoldPrepare(true)  // staging on a goes on...
        harness.start()
        defer { Task { await harness.stop() } }
        let id = try await harness.create()
        try await advance(harness.clock, until: { harness.backend("a").calls("prepare") == 1 })
        // ...and a goes down meanwhile; its staging fails.
        harness.backend("a").setHealthy(false)
        try await advance(harness.clock, until: { !harness.registry.isAvailable("a") })
        harness.backend("a").setFailing(BackendError(.failed, "connection refused"))
        harness.backend("a").setHoldPrepare(false)
        try await advance(harness.clock, until: { harness.backend("b").job(id)?.submissions == 1 })
        let task = try await harness.task(id)
        #expect(task.logs?.first?.metadata?[TaskRunner.metadataBackend] == "b")
        #expect(task.logs?.first?.systemLogs?.contains { $0.contains("backend 'a' is down") } == true)
        #expect(harness.backend("a").calls("submit") == 0)
    }

    @Test func aCancelStoredByAnotherProcessReachesTheRunnerAtTheNextScan() async throws {
        let harness = EngineHarness([BackendDescription(name: "a")])
        harness.start()
        defer { Task { await harness.stop() } }
        let id = try await harness.create()
        harness.backend("a").setState(of: id, .running)
        try await harness.wait(for: id, .running)
        // Another TESP process's API: the store only, no event here.
        #expect(try await harness.store.cancel(id: id) == .canceling)
        try await harness.wait(for: id, .canceled)
        #expect(harness.backend("a").job(id)?.canceled == true)
        #expect(harness.backend("a").job(id)?.cleaned == true)
    }

    @Test func aCancelDuringStagingStopsIt() async throws {
        let harness = EngineHarness([BackendDescription(name: "a")])
        harness.backend("a").setHoldPrepare(true)
        harness.start()
        defer { Task { await harness.stop() } }
        let id = try await harness.create()
        try await advance(harness.clock, until: { harness.backend("a").calls("prepare") == 1 })
        #expect(try await harness.store.cancel(id: id) == .canceling)
        harness.engine.cancelRequested(id: id)
        try await harness.wait(for: id, .canceled)
        #expect(harness.backend("a").job(id)?.prepared != true)  // the staging was stopped, not finished
        #expect(harness.backend("a").calls("submit") == 0)
    }

    @Test func maxTaskSecondsCountsFromRunningAndStopsTheJob() async throws {
        let harness = EngineHarness([BackendDescription(name: "a")]) { $0.maxTaskDuration = .seconds(60) }
        harness.start()
        defer { Task { await harness.stop() } }
        let id = try await harness.create()
        try await harness.wait(for: id, .initializing)
        // Ten minutes in the backend's queue do not count...
        for _ in 0..<600 {
            harness.clock.advance(by: .seconds(1))
            try await Task.sleep(for: .milliseconds(1))
        }
        #expect(try await harness.state(id) == .initializing)
        harness.backend("a").setState(of: id, .running)
        try await harness.wait(for: id, .running)
        let running = harness.clock.now
        try await harness.wait(for: id, .systemError)
        #expect(harness.clock.now.timeIntervalSince(running) >= 60)
        let log = try await harness.task(id).logs?.first
        #expect(log?.systemLogs?.contains { $0.contains("longer than the configured limit") } == true)
        #expect(harness.backend("a").job(id)?.canceled == true)
    }

    @Test(arguments: [true, false])
    func keepFailedJobsKeepsTheJobOfAFailedTask(keep: Bool) async throws {
        let harness = EngineHarness([BackendDescription(name: "a")]) { $0.keepFailedJobs = keep }
        harness.start()
        defer { Task { await harness.stop() } }
        let id = try await harness.create()
        harness.backend("a").setOutcome(of: id, .executorError(executors: [TESExecutorLog(exitCode: 3)]))
        harness.backend("a").setState(of: id, .finished)
        try await harness.wait(for: id, .executorError)
        #expect(try await harness.task(id).logs?.first?.logs.map(\.exitCode) == [3])
        #expect((harness.backend("a").job(id)?.cleaned ?? false) == !keep)
    }

    @Test func aTaskOnABackendRemovedFromTheSettingsFailsSayingSo() async throws {
        let store = InMemoryTaskStore()
        let old = EngineHarness([BackendDescription(name: "gone")], store: store)
        old.start()
        let id = try await old.create()
        try await old.wait(for: id, .initializing)
        await old.stop()
        let harness = EngineHarness([BackendDescription(name: "a")], store: store)
        harness.start()
        defer { Task { await harness.stop() } }
        try await harness.wait(for: id, .systemError)
        #expect(try await harness.task(id).logs?.first?.systemLogs?.contains { $0.contains("'gone' is no longer configured") } == true)
    }

    @Test func aShutdownLeavesTheTaskForTheNextStartWhichDoesNotSubmitAgain() async throws {
        let store = InMemoryTaskStore()
        let backend = FakeBackend(name: "a")
        let first = EngineHarness([BackendDescription(name: "a")], store: store, backends: [backend])
        first.start()
        let id = try await first.create()
        backend.setState(of: id, .running)
        try await first.wait(for: id, .running)
        await first.stop()
        #expect(try await first.state(id) == .running)
        let second = EngineHarness([BackendDescription(name: "a")], store: store, backends: [backend])
        second.start()
        defer { Task { await second.stop() } }
        backend.setState(of: id, .finished)
        try await second.wait(for: id, .complete)
        #expect(backend.job(id)?.submissions == 1)
    }

    @Test func outputsAreNotPublishedTwiceWhenTheStoreFailsAfterPublishing() async throws {
        let store = InstrumentedStore()
        let harness = EngineHarness([BackendDescription(name: "a")], store: store)
        harness.start()
        defer { Task { await harness.stop() } }
        let id = try await harness.create()
        harness.backend("a").setState(of: id, .running)
        try await harness.wait(for: id, .running)
        await store.failNextFinish()
        harness.backend("a").setState(of: id, .finished)
        try await harness.wait(for: id, .complete)
        #expect(await store.failures == 1)
        #expect(harness.backend("a").calls("collect") == 1)
    }

    @Test func dataLocalityPlacesTasksNearTheirInputs() async throws {
        let harness = EngineHarness(
            [BackendDescription(name: "a", near: ["ftp.a.example"]), BackendDescription(name: "b", near: ["ftp.b.example"])],
            inputSizing: FixedInputSizing(bytes: ["ftp.a.example": 1 << 30, "ftp.b.example": 1 << 20])
        ) { $0.placementPolicy = .dataLocality }
        harness.start()
        defer { Task { await harness.stop() } }
        func withInput(_ host: String) -> TESTask {
            TESTask(inputs: [TESInput(url: "ftp://\(host)/data", path: "/in")], executors: [TESExecutor(image: "x", command: ["true"])])
        }
        var onB: [String] = []
        for _ in 0..<4 { onB.append(try await harness.create(withInput("ftp.b.example"))) }
        let onA = try await harness.create(withInput("ftp.a.example"))
        try await advance(harness.clock, until: { harness.backends.map(\.submittedTaskIDs.count).reduce(0, +) == 5 })
        #expect(Set(harness.backend("b").submittedTaskIDs) == Set(onB))
        #expect(harness.backend("a").submittedTaskIDs == [onA])
    }

    @Test func aTaskThatNoBackendCanRunEndsSystemErrorSayingWhy() async throws {
        let harness = EngineHarness([BackendDescription(name: "a", cpuCores: 4)])
        harness.start()
        defer { Task { await harness.stop() } }
        let id = try await harness.create(TESTask(resources: TESResources(cpuCores: 8), executors: [TESExecutor(image: "x", command: ["true"])]))
        try await harness.wait(for: id, .systemError)
        #expect(try await harness.task(id).logs?.first?.systemLogs == ["placement: no backend has room for one job of 8 CPU cores"])
    }
}

@Suite struct PlacementTests {
    let backends = [
        BackendDescription(name: "a", maxJobs: 2, cpuCores: 8, ramGb: 32, labels: ["site": "a"]),
        BackendDescription(name: "b", cpuCores: 64, ramGb: 256, labels: ["site": "b", "gpu": "yes"]),
    ]

    func task(_ resources: TESResources?) -> TESTask { TESTask(resources: resources, executors: []) }

    @Test func pinsLabelsAndResourcesNarrowTheBackends() {
        let placement = Placement(backends: backends, policy: LeastLoadedPolicy())
        let pinned = task(TESResources(backendParameters: ["tesp_backend": "b"]))
        #expect(placement.decide(pinned, inFlight: [:], available: { _ in true }) == .place(on: "b"))
        let labelled = task(TESResources(backendParameters: ["TESP_LABEL_site": "a"]))
        #expect(placement.decide(labelled, inFlight: [:], available: { _ in true }) == .place(on: "a"))
        let big = task(TESResources(cpuCores: 16))
        #expect(placement.decide(big, inFlight: ["b": 10], available: { _ in true }) == .place(on: "b"))
        // a is full (max_jobs 2) and b is down: wait; nothing fits: never.
        #expect(placement.decide(task(nil), inFlight: ["a": 2], available: { $0 == "a" }) == .wait)
        #expect(placement.decide(task(TESResources(ramGb: 512)), inFlight: [:], available: { _ in true }) == .never("no backend has room for one job of 512.0 GB of RAM"))
    }

    @Test func theProblemAtCreationNamesTheField() {
        let unknown = BackendDescription.placementProblem(of: task(TESResources(backendParameters: ["tesp_backend": "c"])), on: backends)
        #expect(unknown?.field == "resources.backend_parameters.tesp_backend")
        let label = BackendDescription.placementProblem(of: task(TESResources(backendParameters: ["tesp_label_gpu": "no"])), on: backends)
        #expect(label?.field == "resources.backend_parameters.tesp_label_gpu")
        #expect(BackendDescription.placementProblem(of: task(TESResources(cpuCores: 64)), on: backends) == nil)
        #expect(BackendDescription.placementParameterKeys(for: backends) == ["tesp_backend", "tesp_label_gpu", "tesp_label_site"])
    }

    @Test func dataLocalityGoesWhereMostInputBytesAreNearAndElseByLoad() {
        let near = [
            BackendDescription(name: "a", near: ["ftp.a.example"]),
            BackendDescription(name: "b", near: ["s3.b.example", "ftp.b.example"]),
        ]
        let placement = Placement(backends: near, policy: DataLocalityPolicy())
        let mostlyB = PlacementContext(inputBytesByHost: ["ftp.a.example": 10, "s3.b.example": 8, "ftp.b.example": 8])
        #expect(placement.decide(task(nil), inFlight: ["b": 50], available: { _ in true }, context: mostlyB) == .place(on: "b"))
        // Nothing near either (or a tie): least-loaded decides.
        let nowhere = PlacementContext(inputBytesByHost: ["elsewhere.example": 100])
        #expect(placement.decide(task(nil), inFlight: ["a": 3, "b": 1], available: { _ in true }, context: nowhere) == .place(on: "b"))
        // The nearest backend is full: the next best gets it.
        let full = Placement(backends: [BackendDescription(name: "a", maxJobs: 1, near: ["ftp.a.example"]), near[1]], policy: DataLocalityPolicy())
        #expect(full.decide(task(nil), inFlight: ["a": 1], available: { _ in true }, context: PlacementContext(inputBytesByHost: ["ftp.a.example": 10])) == .place(on: "b"))
    }

    @Test func statusCallsToOneBackendAreSpacedToTheCeiling() async throws {
        let clock = TestClock()
        let limiter = RateLimiter(perSecond: 50, clock: clock)
        let start = clock.now
        let done = Counter()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<100 { group.addTask { try await limiter.wait(); done.add() } }
            try await advance(clock, by: .milliseconds(20), until: { done.value == 100 })
            try await group.waitForAll()
        }
        // 100 calls at 50 a second: the last goes about 2 s after the first, however fast they were asked for.
        #expect(clock.now.timeIntervalSince(start) >= 1.95)
    }
}

final class Counter: Sendable {
    private let count = Synchronization.Mutex(0)
    func add() { count.withLock { $0 += 1 } }
    var value: Int { count.withLock { $0 } }
}

/// Input sizes a test gives: bytes by host for every task.
struct FixedInputSizing: InputSizing {
    let bytes: [String: Int64]
    func bytesByHost(of task: TESTask, secrets: [String: String]) async -> [String: Int64] {
        var result: [String: Int64] = [:]
        for input in task.inputs ?? [] {
            if let url = input.url.flatMap(StorageURL.init), let size = bytes[url.host] { result[url.host, default: 0] += size }
        }
        return result
    }
}
