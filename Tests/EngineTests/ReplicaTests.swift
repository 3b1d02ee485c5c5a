import Foundation
import Synchronization
import TES
import TaskStore
import Testing

@testable import Engine

/// Several engine processes over one store (replicas): each task is driven by the one holding its lease, a dead
/// one's tasks are taken over after the lease, and one that lost its lease does nothing more.
@Suite struct ReplicaTests {
    static let lease = Duration.seconds(30)

    private static func replica(
        _ holder: String,
        store: any TaskStore,
        clock: TestClock,
        backend: FakeBackend
    ) -> EngineHarness {
        EngineHarness([BackendDescription(name: "a")], store: store, clock: clock, backends: [backend]) {
            $0.leaseHolder = holder
            $0.leaseDuration = lease
        }
    }

    @Test func theTasksOfAReplicaCutOffFromTheStoreAreTakenOverAfterTheLeaseAndEachJobRunsOnce() async throws {
        do {
            let store = InMemoryTaskStore()
            let severable = SeverableStore(inner: store)
            let clock = TestClock()
            let backend = FakeBackend(name: "a")
            let first = Self.replica("first", store: severable, clock: clock, backend: backend)
            let second = Self.replica("second", store: store, clock: clock, backend: backend)
            first.start()
            defer { Task { await first.stop() } }
            var ids: [String] = []
            for _ in 0..<3 { ids.append(try await first.create()) }
            try await advance(clock, until: { backend.submittedTaskIDs.count == 3 })
            for id in ids { backend.setState(of: id, .running) }
            for id in ids { try await first.wait(for: id, .running) }
            second.start()
            defer { Task { await second.stop() } }
            // Live leases: the second replica leaves the tasks alone however many scans pass.
            await letTimePass(clock, steps: 100)
            #expect(second.engine.runnerCount == 0)
            #expect(try await store.unleasedTasks(in: [.running], now: clock.now, limit: 10) == [])

            // The first replica can no longer reach the store (dead, or cut off): no renewal, no release.
            severable.sever()
            let cut = clock.now
            try await advance(clock, until: { second.engine.runnerCount == 3 })
            let takeover = clock.now.since(cut)
            // Not before the lease expired; within the lease, a scan interval, and the clock's step.
            #expect(takeover > Self.lease - ReplicaTests.renewal && takeover <= Self.lease + .seconds(2) + .milliseconds(400))
            try await advance(clock, until: { first.engine.runnerCount == 0 })  // its tickets lapsed: its runners stopped

            for id in ids { backend.setState(of: id, .finished) }
            for id in ids { try await second.wait(for: id, .complete) }
            try await advance(clock, until: { second.engine.runnerCount == 0 })
            for id in ids { #expect(backend.job(id)?.submissions == 1) }
            #expect(backend.calls("submit") == 3 && backend.calls("collect") == 3 && backend.calls("cancel") == 0)
            // Finished: the leases were given up (no live lease on any of them).
            #expect(try await store.unleasedTasks(in: [.complete], now: clock.now, limit: 10) == ids.sorted())
            // Stopped before the store closes: no engine may call a closed store.
            await first.stop()
            await second.stop()
        }
    }

    /// The renewal interval: the last renewal before a cut may have been this much before it.
    static let renewal = lease / 5

    @Test func aReplicaFrozenPastItsLeaseDoesNothingWhenItResumes() async throws {
        let store = InMemoryTaskStore()
        let backend = FakeBackend(name: "a")
        // Two clocks: the first replica's stands still while it is frozen (SIGSTOP), the second's goes on.
        let frozenClock = TestClock()
        let clock = TestClock()
        let frozen = Self.replica("frozen", store: store, clock: frozenClock, backend: backend)
        let other = Self.replica("other", store: store, clock: clock, backend: backend)
        frozen.start()
        defer { Task { await frozen.stop() } }
        let id = try await frozen.create()
        try await advanceBoth(frozenClock, clock, until: { backend.job(id)?.submissions == 1 })
        backend.setState(of: id, .running)
        try await advanceBoth(frozenClock, clock, until: { try await frozen.state(id) == .running })
        other.start()
        defer { Task { await other.stop() } }

        // Frozen: only the other replica's time passes. It takes the task once the lease expired, and ends it.
        try await advance(clock, until: { await store.lease(of: id)?.holder == "other" })
        backend.setState(of: id, .finished)
        try await other.wait(for: id, .complete)
        try await advance(clock, until: { backend.job(id)?.cleaned == true && other.engine.runnerCount == 0 })
        let ended = try await other.task(id)
        #expect(backend.calls("collect") == 1 && backend.calls("clean") == 1)

        // Resumed: its clock jumps to the time that passed meanwhile (a stopped process's wall clock runs on), and
        // its runner wakes to a finished job; its lease lapsed: no collect, no cancel, no write.
        frozenClock.advance(by: clock.now.since(frozenClock.now))
        try await advance(frozenClock, until: { frozen.engine.runnerCount == 0 })
        await letTimePass(frozenClock, steps: 100)
        #expect(backend.calls("collect") == 1, "collect")
        #expect(backend.calls("clean") == 1, "clean")
        #expect(backend.calls("cancel") == 0, "cancel")
        #expect(backend.calls("submit") == 1)
        #expect(try await store.get(id: id, view: .full) == ended)
    }

    @Test func aReplicaThatStopsGivesItsTasksUpAtOnce() async throws {
        let store = InMemoryTaskStore()
        let clock = TestClock()
        let backend = FakeBackend(name: "a")
        let leaving = Self.replica("leaving", store: store, clock: clock, backend: backend)
        let staying = Self.replica("staying", store: store, clock: clock, backend: backend)
        leaving.start()
        let id = try await leaving.create()
        try await advance(clock, until: { backend.job(id)?.submissions == 1 })
        staying.start()
        defer { Task { await staying.stop() } }
        await leaving.stop()  // a shutdown: the runner stops where it is and gives its lease up
        #expect(await store.lease(of: id)?.holder != "leaving")
        let stopped = clock.now
        try await advance(clock, until: { await store.lease(of: id)?.holder == "staying" })
        // At the next scan, far sooner than the lease.
        #expect(clock.now.since(stopped) <= .seconds(2) + .milliseconds(400))
        backend.setState(of: id, .finished)
        try await staying.wait(for: id, .complete)
        #expect(backend.job(id)?.submissions == 1)
    }

    @Test func twoReplicasPlacingAtOnceNeverGiveABackendMoreThanMaxJobs() async throws {
        let store = InMemoryTaskStore()
        let clock = TestClock()
        let description = BackendDescription(name: "a", maxJobs: 2)
        let harness = EngineHarness([description], store: store, clock: clock)
        var ids: [String] = []
        for _ in 0..<6 { ids.append(try await harness.create(tell: false)) }
        func scheduler(_ holder: String, counts store: any TaskStore) -> Scheduler {
            Scheduler(
                store: store,
                placement: Placement(backends: [description], policy: LeastLoadedPolicy()),
                backends: harness.registry,
                clock: clock,
                leases: LeaseKeeper(holder: holder, duration: .seconds(30), store: store, clock: clock, logger: .init(label: "test")),
                logger: .init(label: "test")
            )
        }
        let first = scheduler("first", counts: store)
        // The second read the in-flight counts before the first placed anything (both placing at the same moment).
        let second = scheduler("second", counts: StaleCountsStore(inner: store))
        await first.enqueue(ids)
        await second.enqueue(ids.reversed())
        #expect(try await first.placeWaitingTasks().placed == Array(ids[0..<2]))
        #expect(try await second.placeWaitingTasks().placed == [])
        #expect(try await store.countByBackend(in: Scheduler.inFlightStates) == ["a": 2])
        // A slot freed by a task that ended is taken by whichever places next.
        #expect(try await store.compareAndSetState(id: ids[0], from: .initializing, to: .systemError))
        #expect(try await second.placeWaitingTasks().placed == [ids[2]])
        #expect(try await first.placeWaitingTasks().placed == [])
        #expect(try await store.claimedSlots(on: "a") == [0, 1])
    }

    @Test func aLapsedTicketStaysInvalidAfterTheNextRenewal() async throws {
        let store = InMemoryTaskStore()
        let clock = TestClock()
        let keeper = LeaseKeeper(holder: "k", duration: .seconds(30), store: store, clock: clock, logger: .init(label: "test"))
        var ids = TESTaskIDGenerator()
        let id = ids.next(milliseconds: 1_800_000_000_000, random: { (0, 0) })
        try await store.create(TESTask(id: id, state: .running, executors: []))
        let ticket = try #require(try await keeper.acquire(id))
        try keeper.check(ticket)
        clock.advance(by: .seconds(20))
        await keeper.renew()
        clock.advance(by: .seconds(20))
        try keeper.check(ticket)  // renewed 20 s ago: valid for 24 s from then
        clock.advance(by: .seconds(5))
        #expect(throws: TaskStoreError.self) { try keeper.check(ticket) }
        await keeper.renew()
        #expect(throws: TaskStoreError.self) { try keeper.check(ticket) }
        // A new ticket is good after the renewal; the store still has the lease for this holder.
        try keeper.check(keeper.ticket())
        #expect(await store.lease(of: id)?.holder == "k")
        await keeper.release(id)
        #expect(await store.lease(of: id) == nil)
    }
}

/// Moves the clock on by `steps` steps of 200 ms, letting the engines run between them.
private func letTimePass(_ clock: TestClock, steps: Int) async {
    for _ in 0..<steps {
        clock.advance(by: .milliseconds(200))
        try? await Task.sleep(for: .milliseconds(2))
    }
}

/// Moves both clocks on together (two replicas whose time passes alike) until `condition` holds.
private func advanceBoth(
    _ first: TestClock,
    _ second: TestClock,
    until condition: @Sendable () async throws -> Bool,
    sourceLocation: SourceLocation = #_sourceLocation
) async throws {
    for _ in 0..<3000 {
        if try await condition() { return }
        first.advance(by: .milliseconds(200))
        second.advance(by: .milliseconds(200))
        try? await Task.sleep(for: .milliseconds(2))
    }
    Issue.record("the condition did not hold", sourceLocation: sourceLocation)
}

/// A store that can be cut off: after ``sever()`` every call fails as unreachable (a process that died, as far
/// as the store can tell, or one on the wrong side of a network partition).
final class SeverableStore: TaskStore {
    let inner: any TaskStore
    private let severed = Atomic<Bool>(false)

    init(inner: any TaskStore) { self.inner = inner }

    func sever() { severed.store(true, ordering: .releasing) }

    private func reach() throws {
        if severed.load(ordering: .acquiring) { throw TaskStoreError(.unavailable, "cut off") }
    }

    func create(_ task: TESTask, secrets: [String: String], owner: String?) async throws {
        try reach()
        try await inner.create(task, secrets: secrets, owner: owner)
    }
    func secrets(id: String) async throws -> [String: String] {
        try reach()
        return try await inner.secrets(id: id)
    }
    func owner(id: String) async throws -> String? {
        try reach()
        return try await inner.owner(id: id)
    }
    func get(id: String, view: TESView, ownedBy owner: String?) async throws -> TESTask {
        try reach()
        return try await inner.get(id: id, view: view, ownedBy: owner)
    }
    func list(_ request: TESListRequest, ownedBy owner: String?) async throws -> TaskPage {
        try reach()
        return try await inner.list(request, ownedBy: owner)
    }
    func compareAndSetState(id: String, from expected: TESState, to next: TESState, update: TaskUpdate) async throws -> Bool {
        try reach()
        return try await inner.compareAndSetState(id: id, from: expected, to: next, update: update)
    }
    func countByBackend(in states: Set<TESState>) async throws -> [String: Int] {
        try reach()
        return try await inner.countByBackend(in: states)
    }
    func claimedSlots(on backend: String) async throws -> Set<Int> {
        try reach()
        return try await inner.claimedSlots(on: backend)
    }
    func appendSystemLog(id: String, _ message: String) async throws {
        try reach()
        try await inner.appendSystemLog(id: id, message)
    }
    func updateLogs(id: String, _ logs: [TESTaskLog], fence: String?) async throws {
        try reach()
        try await inner.updateLogs(id: id, logs, fence: fence)
    }
    func acquireLease(id: String, _ lease: TaskLease, now: Date) async throws -> Bool {
        try reach()
        return try await inner.acquireLease(id: id, lease, now: now)
    }
    func renewLeases(ids: [String], holder: String, expires: Date) async throws -> Int {
        try reach()
        return try await inner.renewLeases(ids: ids, holder: holder, expires: expires)
    }
    func releaseLease(id: String, holder: String) async throws {
        try reach()
        try await inner.releaseLease(id: id, holder: holder)
    }
    func unleasedTasks(in states: Set<TESState>, now: Date, limit: Int) async throws -> [String] {
        try reach()
        return try await inner.unleasedTasks(in: states, now: now, limit: limit)
    }
}

/// The store, except that it always says no backend has a job in flight: a process whose counts are out of date.
struct StaleCountsStore: TaskStore {
    let inner: InMemoryTaskStore

    func create(_ task: TESTask, secrets: [String: String], owner: String?) async throws {
        try await inner.create(task, secrets: secrets, owner: owner)
    }
    func secrets(id: String) async throws -> [String: String] { try await inner.secrets(id: id) }
    func owner(id: String) async throws -> String? { try await inner.owner(id: id) }
    func get(id: String, view: TESView, ownedBy owner: String?) async throws -> TESTask {
        try await inner.get(id: id, view: view, ownedBy: owner)
    }
    func list(_ request: TESListRequest, ownedBy owner: String?) async throws -> TaskPage {
        await inner.list(request, ownedBy: owner)
    }
    func compareAndSetState(id: String, from expected: TESState, to next: TESState, update: TaskUpdate) async throws -> Bool {
        try await inner.compareAndSetState(id: id, from: expected, to: next, update: update)
    }
    func countByBackend(in states: Set<TESState>) async throws -> [String: Int] { [:] }
    func claimedSlots(on backend: String) async throws -> Set<Int> { await inner.claimedSlots(on: backend) }
    func appendSystemLog(id: String, _ message: String) async throws { try await inner.appendSystemLog(id: id, message) }
    func updateLogs(id: String, _ logs: [TESTaskLog], fence: String?) async throws {
        try await inner.updateLogs(id: id, logs, fence: fence)
    }
    func acquireLease(id: String, _ lease: TaskLease, now: Date) async throws -> Bool {
        try await inner.acquireLease(id: id, lease, now: now)
    }
    func renewLeases(ids: [String], holder: String, expires: Date) async throws -> Int {
        await inner.renewLeases(ids: ids, holder: holder, expires: expires)
    }
    func releaseLease(id: String, holder: String) async throws { await inner.releaseLease(id: id, holder: holder) }
    func unleasedTasks(in states: Set<TESState>, now: Date, limit: Int) async throws -> [String] {
        await inner.unleasedTasks(in: states, now: now, limit: limit)
    }
}
