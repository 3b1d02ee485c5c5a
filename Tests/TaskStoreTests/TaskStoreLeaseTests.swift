import Foundation
import TES
import TaskStore
import Testing

/// The lease operations every TaskStore must have (engine processes sharing one store), on the in-memory store
/// and on MongoDB.
@Suite struct TaskStoreLeaseTests {
    private let now = Date(timeIntervalSince1970: 1_800_000_000)

    @Test(arguments: StoreKind.available)
    func aLeaseIsTakenOnlyWhenFreeExpiredOrAlreadyHeld(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            var ids = IDMaker()
            let id = ids.next()
            try await store.create(storedTask(id: id, state: .running))
            #expect(try await store.acquireLease(id: id, TaskLease(holder: "a", expires: now + 30), now: now))
            // Held and not expired: nobody else gets it, its holder extends it.
            #expect(try await !store.acquireLease(id: id, TaskLease(holder: "b", expires: now + 40), now: now + 10))
            #expect(try await store.acquireLease(id: id, TaskLease(holder: "a", expires: now + 50), now: now + 10))
            #expect(try await !store.acquireLease(id: id, TaskLease(holder: "b", expires: now + 70), now: now + 40))
            // Expired: anyone takes it.
            #expect(try await store.acquireLease(id: id, TaskLease(holder: "b", expires: now + 90), now: now + 60))
            #expect(try await !store.acquireLease(id: id, TaskLease(holder: "a", expires: now + 90), now: now + 61))
            // Given up: free at once; a release by another holder changes nothing.
            try await store.releaseLease(id: id, holder: "a")
            #expect(try await !store.acquireLease(id: id, TaskLease(holder: "c", expires: now + 90), now: now + 62))
            try await store.releaseLease(id: id, holder: "b")
            #expect(try await store.acquireLease(id: id, TaskLease(holder: "c", expires: now + 90), now: now + 62))
            await #expect(throws: TaskStoreError.self) {
                try await store.acquireLease(id: ids.next(), TaskLease(holder: "a", expires: now), now: now)
            }
        }
    }

    @Test(arguments: StoreKind.available)
    func aFencedWriteFailsOnceAnotherHolderHasTheLease(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            var ids = IDMaker()
            let id = ids.next()
            try await store.create(storedTask(id: id))
            // Placement gives the lease in the same write as the state.
            let placed = TaskUpdate(lease: TaskLease(holder: "a", expires: now + 30))
            #expect(try await store.compareAndSetState(id: id, from: .queued, to: .initializing, update: placed))
            #expect(try await !store.acquireLease(id: id, TaskLease(holder: "b", expires: now + 30), now: now + 1))
            #expect(try await store.compareAndSetState(id: id, from: .initializing, to: .running, update: TaskUpdate(fence: "a")))
            try await store.updateLogs(id: id, [TESTaskLog(systemLogs: ["by a"])], fence: "a")
            // "a" is gone past its lease; "b" takes the task.
            #expect(try await store.acquireLease(id: id, TaskLease(holder: "b", expires: now + 90), now: now + 31))
            await expectLeaseLost {
                _ = try await store.compareAndSetState(id: id, from: .running, to: .complete, update: TaskUpdate(fence: "a"))
            }
            await expectLeaseLost { try await store.updateLogs(id: id, [TESTaskLog(systemLogs: ["late"])], fence: "a") }
            // A move from a state the task is not in is the usual `false`, fenced or not.
            #expect(try await !store.compareAndSetState(id: id, from: .initializing, to: .running, update: TaskUpdate(fence: "a")))
            let task = try await store.get(id: id, view: .full)
            #expect(task.state == .running && task.logs?.first?.systemLogs == ["by a"])
            #expect(try await store.compareAndSetState(id: id, from: .running, to: .complete, update: TaskUpdate(fence: "b")))
            // The API's writes are not fenced: a cancel goes through whoever drives the task.
            let other = ids.next()
            try await store.create(storedTask(id: other, state: .running))
            #expect(try await store.acquireLease(id: other, TaskLease(holder: "b", expires: now + 30), now: now))
            #expect(try await store.cancel(id: other) == .canceling)
        }
    }

    @Test(arguments: StoreKind.available)
    func aRenewalMovesOnlyTheHoldersLeasesOnTheTasksNamed(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            var ids = IDMaker()
            let (mine, notRenewed, theirs) = (ids.next(), ids.next(), ids.next())
            for id in [mine, notRenewed, theirs] { try await store.create(storedTask(id: id, state: .running)) }
            #expect(try await store.acquireLease(id: mine, TaskLease(holder: "a", expires: now + 30), now: now))
            #expect(try await store.acquireLease(id: notRenewed, TaskLease(holder: "a", expires: now + 30), now: now))
            #expect(try await store.acquireLease(id: theirs, TaskLease(holder: "b", expires: now + 30), now: now))
            #expect(try await store.renewLeases(ids: [mine, theirs], holder: "a", expires: now + 60) == 1)
            #expect(try await store.renewLeases(ids: [], holder: "a", expires: now + 60) == 0)
            let unleased = try await store.unleasedTasks(in: [.running], now: now + 45, limit: 10)
            #expect(unleased == [notRenewed, theirs])
        }
    }

    @Test(arguments: StoreKind.available)
    func unleasedTasksAreThoseInTheStatesNamedThatNoLiveLeaseCovers(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            var ids = IDMaker()
            let never = ids.next()
            let expired = ids.next()
            let live = ids.next()
            let released = ids.next()
            let otherState = ids.next()
            for id in [never, expired, live, released] { try await store.create(storedTask(id: id, state: .running)) }
            try await store.create(storedTask(id: otherState, state: .complete))
            #expect(try await store.acquireLease(id: expired, TaskLease(holder: "a", expires: now + 5), now: now))
            #expect(try await store.acquireLease(id: live, TaskLease(holder: "a", expires: now + 50), now: now))
            #expect(try await store.acquireLease(id: released, TaskLease(holder: "a", expires: now + 50), now: now))
            try await store.releaseLease(id: released, holder: "a")
            #expect(try await store.unleasedTasks(in: [.running, .canceling], now: now + 10, limit: 10) == [never, expired, released])
            #expect(try await store.unleasedTasks(in: [.running], now: now + 10, limit: 2) == [never, expired])
            #expect(try await store.unleasedTasks(in: [.canceling], now: now + 10, limit: 10) == [])
            // The lease is hidden: no view shows it.
            let full = try JSONEncoder().encode(try await store.get(id: live, view: .full))
            #expect(!String(decoding: full, as: UTF8.self).contains("holder"))
        }
    }

    @Test(arguments: StoreKind.available)
    func aJobSlotIsHeldByOneTaskAndFreedWhenItEndsOrIsPlacedAgain(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            var ids = IDMaker()
            let (first, second, third) = (ids.next(), ids.next(), ids.next())
            for id in [first, second, third] { try await store.create(storedTask(id: id)) }
            let slot0 = JobSlot(backend: "a", number: 0)
            #expect(try await store.compareAndSetState(id: first, from: .queued, to: .initializing, update: TaskUpdate(slot: slot0)))
            // The same slot for another task: refused, and nothing changes.
            do {
                _ = try await store.compareAndSetState(id: second, from: .queued, to: .initializing, update: TaskUpdate(slot: slot0))
                Issue.record("two tasks hold one slot")
            } catch let error as TaskStoreError {
                #expect(error.code == .conflict, "\(error)")
            }
            #expect(try await store.get(id: second, view: .minimal).state == .queued)
            // Another slot, or the same number on another backend: fine.
            #expect(try await store.compareAndSetState(
                id: second, from: .queued, to: .initializing, update: TaskUpdate(slot: JobSlot(backend: "a", number: 1))))
            #expect(try await store.compareAndSetState(
                id: third, from: .queued, to: .initializing, update: TaskUpdate(slot: JobSlot(backend: "b", number: 0))))
            #expect(try await store.claimedSlots(on: "a") == [0, 1])
            // Kept while running; freed when the task ends, or goes back to QUEUED to be placed again.
            #expect(try await store.compareAndSetState(id: first, from: .initializing, to: .running))
            #expect(try await store.claimedSlots(on: "a") == [0, 1])
            #expect(try await store.compareAndSetState(id: first, from: .running, to: .complete))
            #expect(try await store.compareAndSetState(id: second, from: .initializing, to: .queued))
            #expect(try await store.claimedSlots(on: "a") == [])
            #expect(try await store.claimedSlots(on: "b") == [0])
            #expect(try await store.compareAndSetState(id: second, from: .queued, to: .initializing, update: TaskUpdate(slot: slot0)))
        }
    }

    private func expectLeaseLost(_ body: () async throws -> Void, sourceLocation: SourceLocation = #_sourceLocation) async {
        do {
            try await body()
            Issue.record("the fenced write went through", sourceLocation: sourceLocation)
        } catch let error as TaskStoreError {
            #expect(error.code == .leaseLost, "\(error)", sourceLocation: sourceLocation)
        } catch {
            Issue.record("\(error)", sourceLocation: sourceLocation)
        }
    }
}
