import Foundation
import TES

/// Where tasks live: the one source of truth for their state.
///
/// Every state change is a compare-and-set, so that the HTTP API and the engine (or two servers) can race
/// without losing an update or moving a task twice.
public protocol TaskStore: Sendable {
    /// Stores a new task, whose `id` the caller assigned, with secrets no view shows (passwords of its URLs) and
    /// the subject that owns it (`nil` when no authentication is configured), which no view shows either.
    /// - Throws: ``TaskStoreError`` `.conflict` if the id exists, `.unavailable` if the store cannot be reached.
    func create(_ task: TESTask, secrets: [String: String], owner: String?) async throws

    /// The secrets stored with a task.
    /// - Throws: ``TaskStoreError`` `.notFound` for an unknown id.
    func secrets(id: String) async throws -> [String: String]

    /// The subject that owns a task, `nil` for a task stored without one.
    /// - Throws: ``TaskStoreError`` `.notFound` for an unknown id.
    func owner(id: String) async throws -> String?

    /// The task with `id` as `view` shows it; with an `owner`, only if that subject owns it.
    /// - Throws: ``TaskStoreError`` `.notFound` for an unknown id, and for a task someone else owns (so that a
    ///   caller cannot tell whether another's task exists).
    func get(id: String, view: TESView, ownedBy owner: String?) async throws -> TESTask

    /// One page of tasks, newest first, that pass the request's filter; with an `owner`, only that subject's.
    func list(_ request: TESListRequest, ownedBy owner: String?) async throws -> TaskPage

    /// Moves a task to `next` only if the store still holds `expected`, and in the same atomic write makes the
    /// changes `update` names. A task moved to a terminal state or back to QUEUED gives up its job slot.
    /// - Returns: `false` when the task is in another state; the caller re-reads and decides.
    /// - Throws: ``TESTransitionError`` if the state machine forbids the move, ``TaskStoreError`` `.notFound`
    ///   for an unknown id, `.leaseLost` when the task is in `expected` but `update.fence` does not hold its lease,
    ///   `.conflict` when another task holds `update.slot` (nothing changes).
    func compareAndSetState(id: String, from expected: TESState, to next: TESState, update: TaskUpdate) async throws -> Bool

    /// How many tasks in `states` each backend has been given (tasks without a backend are not counted).
    func countByBackend(in states: Set<TESState>) async throws -> [String: Int]

    /// The numbers of the job slots of `backend` that tasks hold now.
    func claimedSlots(on backend: String) async throws -> Set<Int>

    /// Appends a line to the `system_logs` of `logs[0]` (TESP makes one attempt per task), creating that log if
    /// there is none yet.
    /// - Throws: ``TaskStoreError`` `.notFound` for an unknown id.
    func appendSystemLog(id: String, _ message: String) async throws

    /// Replaces the task's `logs`; with a `fence`, only while that holder has the task's lease.
    /// - Throws: ``TaskStoreError`` `.notFound` for an unknown id, `.leaseLost` when the fence does not hold.
    func updateLogs(id: String, _ logs: [TESTaskLog], fence: String?) async throws

    // MARK: Leases: which engine process drives a task

    /// Gives the task's lease to `lease.holder` if nobody holds it, its lease expired before `now`, or the holder
    /// has it already (then it is extended).
    /// - Returns: whether `lease.holder` holds it now. - Throws: ``TaskStoreError`` `.notFound` for an unknown id.
    func acquireLease(id: String, _ lease: TaskLease, now: Date) async throws -> Bool

    /// Moves the expiry of `holder`'s leases on the tasks `ids` to `expires` (leases another holder took are left
    /// alone). - Returns: how many were renewed.
    func renewLeases(ids: [String], holder: String, expires: Date) async throws -> Int

    /// Ends `holder`'s lease on the task, if it has it, so that any engine may take the task at once.
    func releaseLease(id: String, holder: String) async throws

    /// Up to `limit` ids, oldest first, of the tasks in `states` that no lease covers at `now` (never leased, or
    /// the lease expired): the tasks no engine drives.
    func unleasedTasks(in states: Set<TESState>, now: Date, limit: Int) async throws -> [String]
}

/// A claim on driving a task: one engine process (`holder`) drives it until `expires`, unless it renews the lease.
/// Every write the engine makes is fenced on it (``TaskUpdate/fence``), so a process that lost it cannot write.
public struct TaskLease: Sendable, Equatable {
    public var holder: String
    /// Stored to the millisecond.
    public var expires: Date

    public init(holder: String, expires: Date) {
        self.holder = holder
        self.expires = expires
    }
}

/// What a compare-and-set changes besides the state.
public struct TaskUpdate: Sendable, Equatable {
    /// The backend a task is given at placement, kept hidden beside it (for the in-flight counts of placement).
    public enum BackendChange: Sendable, Equatable {
        case keep
        case set(String)
        case clear
    }

    /// The new `logs`, or `nil` to keep them.
    public var logs: [TESTaskLog]?
    public var backend: BackendChange
    /// The write happens only while this holder has the task's lease; otherwise it throws `.leaseLost`.
    public var fence: String?
    /// A lease the write gives the task (when an engine places it).
    public var lease: TaskLease?
    /// A job slot the write claims for the task (placement on a backend with `max_jobs`); at most one task holds
    /// each slot, whichever process placed it.
    public var slot: JobSlot?

    public init(
        logs: [TESTaskLog]? = nil,
        backend: BackendChange = .keep,
        fence: String? = nil,
        lease: TaskLease? = nil,
        slot: JobSlot? = nil
    ) {
        self.logs = logs
        self.backend = backend
        self.fence = fence
        self.lease = lease
        self.slot = slot
    }
}

/// One of the `max_jobs` places of a backend. The store keeps each slot to one task (a unique index), so that
/// several TESP processes placing at once never give a backend more than `max_jobs` jobs.
public struct JobSlot: Sendable, Hashable {
    public var backend: String
    /// 0 ..< max_jobs.
    public var number: Int

    public init(backend: String, number: Int) {
        self.backend = backend
        self.number = number
    }
}

extension TESState {
    /// Whether a task in this state holds a job slot (it does from its placement until it ends or is placed again).
    public var holdsJobSlot: Bool { !isTerminal && self != .queued && self != .unknown }
}

/// One page of a task listing.
public struct TaskPage: Sendable, Equatable {
    public var tasks: [TESTask]
    /// The id to continue after, or `nil` if this is the last page.
    public var nextAfterID: String?

    public init(tasks: [TESTask], nextAfterID: String?) {
        self.tasks = tasks
        self.nextAfterID = nextAfterID
    }
}

extension TaskStore {
    /// Stores a new task that has no secrets and no owner.
    public func create(_ task: TESTask) async throws {
        try await create(task, secrets: [:], owner: nil)
    }

    /// Stores a new task that has no owner.
    public func create(_ task: TESTask, secrets: [String: String]) async throws {
        try await create(task, secrets: secrets, owner: nil)
    }

    /// Replaces the task's `logs`, whoever drives it.
    public func updateLogs(id: String, _ logs: [TESTaskLog]) async throws {
        try await updateLogs(id: id, logs, fence: nil)
    }

    /// Moves a task to `next` only if the store still holds `expected`; nothing else changes.
    public func compareAndSetState(id: String, from expected: TESState, to next: TESState) async throws -> Bool {
        try await compareAndSetState(id: id, from: expected, to: next, update: TaskUpdate())
    }

    /// Like ``compareAndSetState(id:from:to:)``, and in the same atomic write replaces the task's `logs`.
    public func compareAndSetState(id: String, from expected: TESState, to next: TESState, logs: [TESTaskLog]) async throws -> Bool {
        try await compareAndSetState(id: id, from: expected, to: next, update: TaskUpdate(logs: logs))
    }

    /// The task with `id` as `view` shows it, whoever owns it.
    public func get(id: String, view: TESView) async throws -> TESTask {
        try await get(id: id, view: view, ownedBy: nil)
    }

    /// One page of tasks of every owner.
    public func list(_ request: TESListRequest) async throws -> TaskPage {
        try await list(request, ownedBy: nil)
    }

    /// How many of `owner`'s tasks (all tasks for `nil`) have not reached a terminal state, counting no further
    /// than `limit` (a quota check needs no more).
    public func countActive(ownedBy owner: String?, upTo limit: Int) async throws -> Int {
        var count = 0
        for state in TESState.allCases where !state.isTerminal && state != .unknown {
            var after: String?
            repeat {
                let page = try await list(
                    TESListRequest(filter: TESTaskFilter(state: state), pageSize: min(TESListRequest.maxPageSize, limit - count), afterID: after),
                    ownedBy: owner
                )
                count += page.tasks.count
                after = page.nextAfterID
            } while after != nil && count < limit
            if count >= limit { return count }
        }
        return count
    }

    /// Cancels a task as the TES API defines it, retrying when another writer changes the state meanwhile; with an
    /// `owner`, only a task that subject owns (others' are `.notFound`).
    /// - Returns: the state the task is in afterwards (unchanged if it was already terminal or canceling).
    public func cancel(id: String, ownedBy owner: String? = nil) async throws -> TESState {
        while true {
            let current = try await get(id: id, view: .minimal, ownedBy: owner).state ?? .unknown
            guard let next = current.stateAfterCancel else { return current }
            if try await compareAndSetState(id: id, from: current, to: next) { return next }
        }
    }
}
