import Foundation
import ServiceLifecycle
import ServiceLifecycleTestKit
import Synchronization
import TES
import TaskStore
import Testing

@testable import Engine

/// What the engine reads from the store as time goes on, how it shuts down, and how it lives with backends that
/// hang or go away for a while.
@Suite struct EngineLifecycleTests {
    @Test func laterScansReadOnlyQueuedAndCancelingTasksAndEveryNthReadsAll() async throws {
        let store = InstrumentedStore()
        let harness = EngineHarness([BackendDescription(name: "a")], store: store) { $0.fullScanEvery = 3 }
        harness.start()
        defer { Task { await harness.stop() } }
        // Eight scans: the first, the fourth and the seventh are full.
        try await advance(harness.clock, until: { await store.listedStates.filter { $0 == .queued }.count >= 8 })
        let listed = await store.listedStates
        #expect(listed.filter { $0 == .running }.count == 3)
        #expect(listed.filter { $0 == .initializing }.count == 3)
        #expect(listed.filter { $0 == .canceling }.count == 8)
        // Each state fits one page here: a scan that is not full costs two store calls, whatever runs.
        #expect(Array(listed.prefix(7)) == [.canceling, .queued, .initializing, .running, .paused, .canceling, .queued])
    }

    @Test func lightScansReadQueuedTasksOnlyBackToShortlyBeforeTheNewestSeen() async throws {
        let store = InstrumentedStore()
        let harness = EngineHarness([BackendDescription(name: "a")], store: store) {
            $0.fullScanEvery = 4
            $0.queuedLookback = .seconds(60)
        }
        let now: UInt64 = 1_800_000_000_000
        let first = try await harness.create(id: TESTaskID.make(milliseconds: now, random: (0, 1)), tell: false)
        harness.start()
        defer { Task { await harness.stop() } }
        try await advance(harness.clock, until: { try await harness.state(first) != .queued })
        // Another process (not telling this engine) stores a task 30 s older than the newest seen, and one 120 s
        // older.
        let recent = try await harness.create(id: TESTaskID.make(milliseconds: now - 30_000, random: (0, 1)), tell: false)
        let old = try await harness.create(id: TESTaskID.make(milliseconds: now - 120_000, random: (0, 1)), tell: false)
        let scansBefore = await store.listedStates.filter { $0 == .running }.count
        // The next light scan finds the recent one...
        try await advance(harness.clock, until: { try await harness.state(recent) != .queued })
        #expect(try await harness.state(old) == .queued)
        #expect(await store.listedStates.filter { $0 == .running }.count == scansBefore)
        // ...and only the next full scan the old one.
        try await advance(harness.clock, until: { try await harness.state(old) != .queued })
        #expect(await store.listedStates.filter { $0 == .running }.count == scansBefore + 1)
    }

    @Test func theHorizonTrailsTheNewestQueuedIdByTheLookbackAndNeverMovesBack() {
        var horizon = QueuedHorizon(lookback: .seconds(60))
        #expect(horizon.oldest == nil)
        horizon.saw([TESTaskID.make(milliseconds: 200_000, random: (1, 1)), TESTaskID.make(milliseconds: 100_000, random: (1, 1))])
        #expect(horizon.oldest == TESTaskID.earliest(atMilliseconds: 140_000))
        horizon.saw([TESTaskID.make(milliseconds: 150_000, random: (1, 1))])
        #expect(horizon.oldest == TESTaskID.earliest(atMilliseconds: 140_000))
        horizon.saw([])
        #expect(horizon.oldest == TESTaskID.earliest(atMilliseconds: 140_000))
    }

    @Test func aShutdownWaitsForAStuckRunnerNoLongerThanItsTime() async throws {
        let harness = EngineHarness([BackendDescription(name: "a")]) { $0.shutdownTimeout = .seconds(5) }
        let backend = harness.backend("a")
        try await testGracefulShutdown { trigger in
            let engine = harness.engine
            let ended = Mutex(false)
            let run = Task {
                try await engine.run()
                ended.withLock { $0 = true }
            }
            let id = try await harness.create()
            backend.setState(of: id, .running)
            try await harness.wait(for: id, .running)
            // Collecting the outputs hangs in a call that ignores cancellation...
            backend.setStuckCollect(true)
            backend.setState(of: id, .finished)
            try await advance(harness.clock, until: { backend.calls("collect") == 1 })
            trigger.triggerGracefulShutdown()
            // ...so the engine waits for it for the shutdown time, and no longer.
            for _ in 0..<24 {
                harness.clock.advance(by: .milliseconds(200))
                try await Task.sleep(for: .milliseconds(2))
            }
            #expect(!ended.withLock { $0 })
            try await advance(harness.clock, until: { ended.withLock { $0 } })
            // The task is left as the store has it, for the next start.
            #expect(try await harness.state(id) == .running)
            backend.setStuckCollect(false)
            _ = await run.result
        }
    }

    @Test func aShutdownWithNothingStuckEndsAtOnceAndLeavesTasksAsTheyAre() async throws {
        let harness = EngineHarness([BackendDescription(name: "a")]) { $0.shutdownTimeout = .seconds(3600) }
        try await testGracefulShutdown { trigger in
            let engine = harness.engine
            let run = Task { try await engine.run() }
            let id = try await harness.create()
            harness.backend("a").setState(of: id, .running)
            try await harness.wait(for: id, .running)
            trigger.triggerGracefulShutdown()
            // No clock time passes: the runners stop when told.
            _ = await run.result
            #expect(try await harness.state(id) == .running)
        }
    }

    @Test func aBackendWhoseHealthCheckHangsIsDownAfterTheTimeoutAndGetsNoTasks() async throws {
        let harness = EngineHarness([BackendDescription(name: "a"), BackendDescription(name: "b")]) {
            $0.healthTimeout = .seconds(5)
            $0.placementPolicy = .fitFirst
        }
        harness.backend("a").setHangingHealth(true)
        harness.start()
        defer { Task { await harness.stop() } }
        let start = harness.clock.now
        try await advance(harness.clock, until: { !harness.registry.isAvailable("a") })
        #expect(harness.clock.now.timeIntervalSince(start) >= 5)
        #expect(harness.registry.unavailable["a"]?.contains("no answer within") == true)
        for _ in 0..<4 { try await harness.create() }
        try await advance(harness.clock, until: { harness.backend("b").submittedTaskIDs.count == 4 })
        #expect(harness.backend("a").calls("prepare") == 0)
    }

    @Test func aTaskRunningOnABackendThatGoesAwayIsFollowedWhenItReturnsWithinTheGrace() async throws {
        let harness = EngineHarness([BackendDescription(name: "a"), BackendDescription(name: "b")]) {
            $0.placementPolicy = .fitFirst
            $0.transientGrace = .seconds(60)
        }
        harness.start()
        defer { Task { await harness.stop() } }
        let a = harness.backend("a")
        let first = try await harness.create()
        a.setState(of: first, .running)
        try await harness.wait(for: first, .running)
        // a goes away for 40 s: its task stays RUNNING, new tasks go to b.
        a.setHealthy(false)
        a.setFailing(BackendError(.unavailable, "connection refused"))
        try await advance(harness.clock, until: { !harness.registry.isAvailable("a") })
        let second = try await harness.create()
        try await advance(harness.clock, until: { harness.backend("b").job(second)?.submissions == 1 })
        for _ in 0..<150 {
            harness.clock.advance(by: .milliseconds(200))
            try await Task.sleep(for: .milliseconds(1))
        }
        #expect(try await harness.state(first) == .running)
        a.setFailing(nil)
        a.setHealthy(true)
        a.setState(of: first, .finished)
        try await harness.wait(for: first, .complete)
        #expect(a.job(first)?.submissions == 1)
    }
}

/// A job the backend could not start at all (nothing of it ran) is started again as a new job, a few times.
@Suite struct StartAgainTests {
    @Test func aJobTheBackendCouldNotStartIsStartedAgainAsANewJob() async throws {
        let harness = EngineHarness([BackendDescription(name: "a")])
        harness.start()
        defer { Task { await harness.stop() } }
        let a = harness.backend("a")
        let id = try await harness.create()
        a.setOutcome(of: id, .notStarted("Pulsar 'a' could not start the job script (exit code 126): Text file busy"))
        a.setState(of: id, .finished)
        try await advance(harness.clock, until: { a.job(id, attempt: 2)?.submissions == 1 })
        #expect(a.job(id)?.cleaned == true)
        a.setState(of: id, attempt: 2, .finished)
        try await harness.wait(for: id, .complete)
        let log = try await harness.task(id).logs?.first
        #expect(log?.metadata?[TaskRunner.metadataJobID] == "tesp-\(id)-2")
        #expect(log?.systemLogs?.contains { $0.contains("the task is started again as a new job (attempt 2 of 3)") } == true)
        #expect(a.job(id)?.submissions == 1 && a.job(id, attempt: 2)?.cleaned == true)
    }

    @Test func aJobThatNeverStartsEndsSystemErrorAfterThreeAttempts() async throws {
        let harness = EngineHarness([BackendDescription(name: "a")])
        let a = harness.backend("a")
        harness.start()
        defer { Task { await harness.stop() } }
        let id = try await harness.create(tell: false)
        for attempt in 1...3 {
            a.setOutcome(of: id, attempt: attempt, .notStarted("Text file busy \(attempt)"))
            a.setState(of: id, attempt: attempt, .finished)
        }
        harness.engine.taskCreated(id: id)
        try await harness.wait(for: id, .systemError)
        #expect(a.job(id, attempt: 3)?.submissions == 1)
        #expect(a.job(id, attempt: 4) == nil)
        #expect(try await harness.task(id).logs?.first?.systemLogs?.last == "Text file busy 3")
    }
}

/// Placing many waiting tasks never holds the engine's event loop: they go in short batches, one after another.
@Suite struct PlacementBatchTests {
    @Test func manyWaitingTasksArePlacedInBatchesWithoutWaitingForAScan() async throws {
        // No scan comes (an hour apart, and the clock does not move): only the batches' own follow-ups place.
        let harness = EngineHarness([BackendDescription(name: "a")]) {
            $0.placementBatch = 2
            $0.scanInterval = .seconds(3600)
        }
        var ids: [String] = []
        for _ in 0..<7 { ids.append(try await harness.create(tell: false)) }
        harness.start()  // the first scan finds all seven; one batch places two
        defer { Task { await harness.stop() } }
        for _ in 0..<3000 where harness.backend("a").submittedTaskIDs.count < 7 { try await Task.sleep(for: .milliseconds(10)) }
        #expect(Set(harness.backend("a").submittedTaskIDs) == Set(ids))
    }

    @Test func aBatchGoesOnWhereTheLastStoppedAndANewRoundStartsAtTheOldest() async throws {
        let store = InMemoryTaskStore()
        let harness = EngineHarness([BackendDescription(name: "a", maxJobs: 3)], store: store)
        var ids: [String] = []
        for _ in 0..<5 { ids.append(try await harness.create(tell: false)) }
        let scheduler = Scheduler(
            store: store,
            placement: Placement(backends: [BackendDescription(name: "a", maxJobs: 3)], policy: LeastLoadedPolicy()),
            backends: harness.registry,
            clock: harness.clock,
            leases: LeaseKeeper(holder: "test", duration: .seconds(30), store: store, clock: harness.clock, logger: .init(label: "test")),
            logger: .init(label: "test")
        )
        await scheduler.enqueue(ids)
        let first = try await scheduler.placeWaitingTasks(upTo: 2)
        #expect(first.placed == Array(ids[0..<2]) && first.more)
        // One more fits (max_jobs 3): the batch stops when the backend is full, with no more to do now.
        let second = try await scheduler.placeWaitingTasks(upTo: 2)
        #expect(second.placed == [ids[2]] && !second.more)
        // Room again: the round starts at the oldest still waiting.
        #expect(try await store.compareAndSetState(id: ids[0], from: .initializing, to: .systemError, logs: []))
        let third = try await scheduler.placeWaitingTasks(upTo: 2)
        #expect(third.placed == [ids[3]])
    }
}

/// The `system_logs` line of an EXECUTOR_ERROR names the executor, its exit code and what did not run.
@Suite struct ExecutorFailureLineTests {
    func task(_ count: Int, ignoring: Set<Int> = []) -> TESTask {
        TESTask(executors: (0..<count).map { TESExecutor(image: "img\($0)", command: ["x"], ignoreError: ignoring.contains($0) ? true : nil) })
    }

    @Test func theFailedExecutorItsCodeAndTheSkippedOnesAreNamed() {
        let logs = [TESExecutorLog(exitCode: 3), TESExecutorLog(exitCode: 7)]
        #expect(TaskRunner.executorFailure(of: task(4, ignoring: [0]), executors: logs)
            == "executors[1] (img1) exited with code 7; executors[2] to [3] did not run")
        #expect(TaskRunner.executorFailure(of: task(3), executors: [TESExecutorLog(exitCode: 1)])
            == "executors[0] (img0) exited with code 1; executors[1] to [2] did not run")
        #expect(TaskRunner.executorFailure(of: task(2), executors: [TESExecutorLog(exitCode: 0), TESExecutorLog(exitCode: 2)])
            == "executors[1] (img1) exited with code 2")
        #expect(TaskRunner.executorFailure(of: task(2), executors: [TESExecutorLog(exitCode: -1)])
            == "executors[0] (img0) did not end; executors[1] did not run")
    }
}

@Suite struct CoalescedEventTests {
    @Test func aBurstOfRequestsMakesOnePlacementUntilTheLoopTakesIt() async {
        let (events, sink) = AsyncStream.makeStream(of: Engine.Event.self)
        let requests = CoalescedEvent(.place, sink: sink)
        for _ in 0..<1000 { requests.request() }
        requests.started()
        requests.request()
        requests.request()
        sink.finish()
        var count = 0
        for await event in events {
            if case .place = event { count += 1 }
        }
        #expect(count == 2)
    }
}
