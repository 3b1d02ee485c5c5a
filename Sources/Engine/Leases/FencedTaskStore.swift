import Foundation
import TES
import TaskStore

/// The store as one runner sees it: every write it makes is fenced on its task's lease (the store refuses it once
/// another process holds the lease) and first checks the runner's ticket (refused once this process's leases
/// lapsed). Reads go straight through.
struct FencedTaskStore: TaskStore {
    let inner: any TaskStore
    let leases: LeaseKeeper
    let ticket: LeaseKeeper.Ticket

    func create(_ task: TESTask, secrets: [String: String], owner: String?) async throws {
        try await inner.create(task, secrets: secrets, owner: owner)
    }

    func secrets(id: String) async throws -> [String: String] { try await inner.secrets(id: id) }

    func owner(id: String) async throws -> String? { try await inner.owner(id: id) }

    func get(id: String, view: TESView, ownedBy owner: String?) async throws -> TESTask {
        try await inner.get(id: id, view: view, ownedBy: owner)
    }

    func list(_ request: TESListRequest, ownedBy owner: String?) async throws -> TaskPage {
        try await inner.list(request, ownedBy: owner)
    }

    func compareAndSetState(id: String, from expected: TESState, to next: TESState, update: TaskUpdate) async throws -> Bool {
        try leases.check(ticket)
        var update = update
        update.fence = leases.holder
        return try await inner.compareAndSetState(id: id, from: expected, to: next, update: update)
    }

    func countByBackend(in states: Set<TESState>) async throws -> [String: Int] {
        try await inner.countByBackend(in: states)
    }

    func claimedSlots(on backend: String) async throws -> Set<Int> { try await inner.claimedSlots(on: backend) }

    func appendSystemLog(id: String, _ message: String) async throws {
        try leases.check(ticket)
        try await inner.appendSystemLog(id: id, message)
    }

    func updateLogs(id: String, _ logs: [TESTaskLog], fence: String?) async throws {
        try leases.check(ticket)
        try await inner.updateLogs(id: id, logs, fence: leases.holder)
    }

    func acquireLease(id: String, _ lease: TaskLease, now: Date) async throws -> Bool {
        try await inner.acquireLease(id: id, lease, now: now)
    }

    func renewLeases(ids: [String], holder: String, expires: Date) async throws -> Int {
        try await inner.renewLeases(ids: ids, holder: holder, expires: expires)
    }

    func releaseLease(id: String, holder: String) async throws { try await inner.releaseLease(id: id, holder: holder) }

    func unleasedTasks(in states: Set<TESState>, now: Date, limit: Int) async throws -> [String] {
        try await inner.unleasedTasks(in: states, now: now, limit: limit)
    }
}
