import Foundation
import TES
import TaskStore

/// The in-memory store, recording which states the engine lists (what a scan costs), and able to fail the next
/// compare-and-set to a terminal state once as "unavailable" (a store that went away after outputs were published).
actor InstrumentedStore: TaskStore {
    let inner = InMemoryTaskStore()
    private var failNext = false
    private(set) var failures = 0
    /// The state filter of every `list` call, in order (one entry per page).
    private(set) var listedStates: [TESState?] = []

    func failNextFinish() { failNext = true }

    func create(_ task: TESTask, secrets: [String: String], owner: String?) async throws {
        try await inner.create(task, secrets: secrets, owner: owner)
    }
    func secrets(id: String) async throws -> [String: String] { try await inner.secrets(id: id) }
    func owner(id: String) async throws -> String? { try await inner.owner(id: id) }
    func get(id: String, view: TESView, ownedBy owner: String?) async throws -> TESTask {
        try await inner.get(id: id, view: view, ownedBy: owner)
    }
    func list(_ request: TESListRequest, ownedBy owner: String?) async throws -> TaskPage {
        listedStates.append(request.filter.state)
        return await inner.list(request, ownedBy: owner)
    }
    func compareAndSetState(id: String, from expected: TESState, to next: TESState, update: TaskUpdate) async throws -> Bool {
        if failNext, next.isTerminal {
            failNext = false
            failures += 1
            throw TaskStoreError(.unavailable, "the store went away")
        }
        return try await inner.compareAndSetState(id: id, from: expected, to: next, update: update)
    }
    func countByBackend(in states: Set<TESState>) async throws -> [String: Int] { await inner.countByBackend(in: states) }
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
