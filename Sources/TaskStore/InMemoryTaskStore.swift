import Foundation
import TES

/// A task store in memory: for tests of the layers above the store, and for running without a database.
public actor InMemoryTaskStore: TaskStore {
    private var tasks: [String: TESTask] = [:]
    private var secretsByID: [String: [String: String]] = [:]
    private var ownerByID: [String: String] = [:]
    private var backendByID: [String: String] = [:]
    private var leaseByID: [String: TaskLease] = [:]
    private var slotByID: [String: JobSlot] = [:]

    /// Like MongoDB's 16 MiB, a task larger than this (as JSON) is refused with `.tooLarge`.
    private let maxDocumentBytes: Int

    public init(maxDocumentBytes: Int = 16 * 1024 * 1024) {
        self.maxDocumentBytes = maxDocumentBytes
    }

    private func checkSize(_ task: TESTask) throws {
        let size = (try? JSONEncoder().encode(task).count) ?? 0
        if size > maxDocumentBytes {
            throw TaskStoreError(.tooLarge, "the task would be \(size) bytes, more than the store's \(maxDocumentBytes)")
        }
    }

    public func create(_ task: TESTask, secrets: [String: String], owner: String?) throws {
        guard let id = task.id else { throw TaskStoreError(.failed, "a task needs an id to be stored") }
        guard tasks[id] == nil else { throw TaskStoreError(.conflict, "a task with id '\(id)' exists already") }
        var task = task
        // Match what a database keeps: times to the millisecond.
        task.creationTime = task.creationTime.map(TESTime.truncatedToMilliseconds)
        tasks[id] = task
        secretsByID[id] = secrets
        ownerByID[id] = owner
    }

    public func secrets(id: String) throws -> [String: String] {
        guard tasks[id] != nil else { throw TaskStoreError.notFound(id) }
        return secretsByID[id] ?? [:]
    }

    public func owner(id: String) throws -> String? {
        guard tasks[id] != nil else { throw TaskStoreError.notFound(id) }
        return ownerByID[id]
    }

    public func get(id: String, view: TESView, ownedBy owner: String?) throws -> TESTask {
        guard let task = tasks[id], owner == nil || ownerByID[id] == owner else { throw TaskStoreError.notFound(id) }
        return task.projected(to: view)
    }

    public func list(_ request: TESListRequest, ownedBy owner: String?) -> TaskPage {
        let matching = tasks.values
            .filter { task in
                guard let id = task.id else { return false }
                if let after = request.afterID, id >= after { return false }
                if let owner, ownerByID[id] != owner { return false }
                return request.filter.matches(task)
            }
            .sorted { ($0.id ?? "") > ($1.id ?? "") }
        var page = Array(matching.prefix(request.pageSize)).map { $0.projected(to: request.view) }
        if let maxBytes = request.maxBytes {
            // As the MongoDB store: stop before the task that would pass the byte budget, never before the first.
            var total = 0
            var kept = 0
            for task in page {
                let size = (try? JSONEncoder().encode(task).count) ?? 0
                if kept > 0, total + size > maxBytes { break }
                total += size
                kept += 1
            }
            page = Array(page.prefix(kept))
        }
        let more = matching.count > page.count
        return TaskPage(tasks: page, nextAfterID: more ? page.last?.id : nil)
    }

    public func compareAndSetState(id: String, from expected: TESState, to next: TESState, update: TaskUpdate) throws -> Bool {
        guard expected.canMove(to: next) else { throw TESTransitionError(from: expected, to: next) }
        guard var task = tasks[id] else { throw TaskStoreError.notFound(id) }
        guard task.state == expected else { return false }
        try checkFence(update.fence, id: id)
        if let slot = update.slot, slotByID.contains(where: { $0.key != id && $0.value == slot }) {
            throw TaskStoreError(.conflict, "slot \(slot.number) of backend '\(slot.backend)' is taken")
        }
        task.state = next
        if let logs = update.logs { task.logs = Self.storedPrecision(logs) }
        try checkSize(task)
        tasks[id] = task
        switch update.backend {
        case .keep: break
        case .set(let name): backendByID[id] = name
        case .clear: backendByID[id] = nil
        }
        if let lease = update.lease { leaseByID[id] = Self.storedPrecision(lease) }
        if let slot = update.slot { slotByID[id] = slot }
        if !next.holdsJobSlot { slotByID[id] = nil }
        return true
    }

    public func claimedSlots(on backend: String) -> Set<Int> {
        Set(slotByID.values.filter { $0.backend == backend }.map(\.number))
    }

    private func checkFence(_ fence: String?, id: String) throws {
        if let fence, leaseByID[id]?.holder != fence { throw TaskStoreError.leaseLost(id, holder: fence) }
    }

    public func acquireLease(id: String, _ lease: TaskLease, now: Date) throws -> Bool {
        guard tasks[id] != nil else { throw TaskStoreError.notFound(id) }
        if let current = leaseByID[id], current.holder != lease.holder, current.expires >= now { return false }
        leaseByID[id] = Self.storedPrecision(lease)
        return true
    }

    public func renewLeases(ids: [String], holder: String, expires: Date) -> Int {
        var renewed = 0
        for id in Set(ids) where leaseByID[id]?.holder == holder {
            leaseByID[id]?.expires = TESTime.truncatedToMilliseconds(expires)
            renewed += 1
        }
        return renewed
    }

    public func releaseLease(id: String, holder: String) {
        if leaseByID[id]?.holder == holder { leaseByID[id] = nil }
    }

    public func unleasedTasks(in states: Set<TESState>, now: Date, limit: Int) -> [String] {
        let ids = tasks.values.compactMap { task -> String? in
            guard let id = task.id, states.contains(task.state ?? .unknown) else { return nil }
            if let lease = leaseByID[id], lease.expires >= now { return nil }
            return id
        }
        return Array(ids.sorted().prefix(max(0, limit)))
    }

    /// The lease (hidden beside the task) as the store holds it; for tests.
    public func lease(of id: String) -> TaskLease? { leaseByID[id] }

    private static func storedPrecision(_ lease: TaskLease) -> TaskLease {
        TaskLease(holder: lease.holder, expires: TESTime.truncatedToMilliseconds(lease.expires))
    }

    public func countByBackend(in states: Set<TESState>) -> [String: Int] {
        var counts: [String: Int] = [:]
        for (id, backend) in backendByID where states.contains(tasks[id]?.state ?? .unknown) {
            counts[backend, default: 0] += 1
        }
        return counts
    }

    public func appendSystemLog(id: String, _ message: String) throws {
        guard var task = tasks[id] else { throw TaskStoreError.notFound(id) }
        var logs = task.logs ?? []
        if logs.isEmpty { logs.append(TESTaskLog()) }
        logs[0].systemLogs = (logs[0].systemLogs ?? []) + [message]
        task.logs = logs
        try checkSize(task)
        tasks[id] = task
    }

    public func updateLogs(id: String, _ logs: [TESTaskLog], fence: String?) throws {
        guard var task = tasks[id] else { throw TaskStoreError.notFound(id) }
        try checkFence(fence, id: id)
        task.logs = Self.storedPrecision(logs)
        try checkSize(task)
        tasks[id] = task
    }

    /// Times cut to the millisecond, as a database keeps them.
    private static func storedPrecision(_ logs: [TESTaskLog]) -> [TESTaskLog] {
        logs.map { log in
            var log = log
            log.startTime = log.startTime.map(TESTime.truncatedToMilliseconds)
            log.endTime = log.endTime.map(TESTime.truncatedToMilliseconds)
            log.logs = log.logs.map { executorLog in
                var executorLog = executorLog
                executorLog.startTime = executorLog.startTime.map(TESTime.truncatedToMilliseconds)
                executorLog.endTime = executorLog.endTime.map(TESTime.truncatedToMilliseconds)
                return executorLog
            }
            return log
        }
    }
}
