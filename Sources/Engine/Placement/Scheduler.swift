import Foundation
import Logging
import TES
import TaskStore

/// Places QUEUED tasks, oldest first, on backends that have room: QUEUED → INITIALIZING with the backend recorded
/// (in the task's log metadata, and hidden beside it for the in-flight counts) and this process's lease.
///
/// A task whose fitting backends are all full or down waits QUEUED; a younger task that fits elsewhere is not held
/// up by it. A task no configured backend can ever run ends SYSTEM_ERROR, saying why.
actor Scheduler {
    /// The states in which a task holds a place on its backend.
    static let inFlightStates: Set<TESState> = [.initializing, .running, .paused, .canceling]

    private let store: any TaskStore
    private let placement: Placement
    private let backends: BackendRegistry
    private let clock: any EngineClock
    private let inputSizing: (any InputSizing)?
    private let leases: LeaseKeeper
    private let logger: Logger
    /// Input bytes by host of tasks still waiting, asked once per task (data-locality only).
    private var sizes: [String: [String: Int64]] = [:]
    /// QUEUED tasks known to this process, waiting to be placed.
    private var pending: Set<String> = []
    /// Where the last batch stopped, when it stopped at its limit with room left: the next goes on from there.
    private var resumeAfter: String?

    init(
        store: any TaskStore,
        placement: Placement,
        backends: BackendRegistry,
        clock: any EngineClock,
        inputSizing: (any InputSizing)? = nil,
        leases: LeaseKeeper,
        logger: Logger
    ) {
        self.leases = leases
        self.clock = clock
        self.inputSizing = inputSizing
        self.store = store
        self.placement = placement
        self.backends = backends
        self.logger = logger
    }

    func enqueue<S: Sequence<String>>(_ ids: S) { pending.formUnion(ids) }

    /// Places what can be placed now, looking at `limit` waiting tasks at most, so that one call never holds the
    /// engine's event loop for long (10,000 waiting tasks are placed in many short batches, with cancels and scans
    /// between them, and their runners start batch by batch).
    /// - Returns: the ids placed, for the engine to start their runners, and whether the batch stopped at its
    ///   limit with tasks still waiting and room left (the engine then asks for the next batch).
    func placeWaitingTasks(upTo limit: Int = .max) async throws -> (placed: [String], more: Bool) {
        guard !pending.isEmpty else { return ([], false) }
        var counts = try await store.countByBackend(in: Self.inFlightStates)
        // Slots held on each backend with max_jobs, read when first needed in this batch.
        var claimed: [String: Set<Int>] = [:]
        var placed: [String] = []
        // Ids are ULIDs: sorted, they are in creation order. A round starts at the oldest; a batch that stopped at
        // its limit is continued after its last task.
        let waiting = pending.sorted()
        let start = resumeAfter.map { after in waiting.firstIndex { $0 > after } ?? waiting.endIndex } ?? waiting.startIndex
        let batch = waiting[start...].prefix(max(1, limit))
        resumeAfter = nil
        for id in batch {
            if !hasRoom(counts) { return (placed, false) }  // every backend is full or down: nothing more now
            let task: TESTask
            do {
                task = try await store.get(id: id, view: .basic)
            } catch let error as TaskStoreError where error.code == .notFound {
                forget(id)
                continue
            }
            guard task.state == .queued else {
                forget(id)
                continue
            }
            var context = PlacementContext()
            if placement.policy.needsInputSizes, let inputSizing {
                if sizes[id] == nil { sizes[id] = await inputSizing.bytesByHost(of: task, secrets: try await store.secrets(id: id)) }
                context.inputBytesByHost = sizes[id] ?? [:]
            }
            switch placement.decide(task, inFlight: counts, available: backends.isAvailable, context: context) {
            case .wait:
                continue
            case .never(let reason):
                forget(id)
                var log = TESTaskLog()
                log.systemLogs = ["placement: \(reason)"]
                if try await store.compareAndSetState(id: id, from: .queued, to: .systemError, logs: [log]) {
                    EngineMetrics.transition(to: .systemError)
                    logger.warning("Task cannot be placed", metadata: ["tes.task.id": "\(id)", "reason": "\(reason)"])
                }
            case .place(let name):
                // On a backend with max_jobs the task claims a free slot in the same write that places it: the
                // counts read above may be old by now (another process placing at the same moment), the slots not.
                var slot: JobSlot?
                if let limit = maxJobs(of: name) {
                    guard let number = try await freeSlot(on: name, limit: limit, claimed: &claimed) else {
                        counts[name] = max(counts[name, default: 0], limit)  // full after all: wait for room
                        continue
                    }
                    slot = JobSlot(backend: name, number: number)
                }
                // A task placed before (its backend went down) keeps its system logs, which BASIC leaves out.
                var log = task.logs?.isEmpty == false ? try await store.get(id: id, view: .full).logs?.first ?? TESTaskLog() : TESTaskLog()
                log.addMetadata([TaskRunner.metadataBackend: name])
                log.startTime = log.startTime ?? clock.now
                let moved: Bool
                do {
                    moved = try await store.compareAndSetState(
                        id: id,
                        from: .queued,
                        to: .initializing,
                        // The task is this process's to drive from the same write: no other engine takes it.
                        update: TaskUpdate(logs: [log], backend: .set(name), lease: leases.newLease(), slot: slot)
                    )
                } catch let error as TaskStoreError where error.code == .conflict && slot != nil {
                    claimed[name] = nil  // another process took that slot just now: read them again, the task waits
                    continue
                }
                forget(id)
                guard moved else { continue }  // canceled meanwhile
                if let slot { claimed[name, default: []].insert(slot.number) }
                leases.hold(id)
                counts[name, default: 0] += 1
                placed.append(id)
                EngineMetrics.transition(to: .initializing)
                logger.info("Task placed", metadata: ["tes.task.id": "\(id)", "tesp.backend": "\(name)"])
            }
        }
        guard batch.endIndex < waiting.endIndex, let last = batch.last else {
            // The end of the list: a batch that began in the middle leaves the oldest to a new round.
            return (placed, start > waiting.startIndex && hasRoom(counts))
        }
        resumeAfter = last
        return (placed, hasRoom(counts))
    }

    private func maxJobs(of name: String) -> Int? {
        backends.descriptions.first { $0.name == name }?.maxJobs
    }

    /// The lowest slot of `name` that no task holds, or `nil` when all `limit` are held.
    private func freeSlot(on name: String, limit: Int, claimed: inout [String: Set<Int>]) async throws -> Int? {
        if claimed[name] == nil { claimed[name] = try await store.claimedSlots(on: name) }
        let held = claimed[name] ?? []
        return (0..<limit).first { !held.contains($0) }
    }

    private func forget(_ id: String) {
        pending.remove(id)
        sizes[id] = nil
    }

    /// Whether any backend could take one more job.
    private func hasRoom(_ counts: [String: Int]) -> Bool {
        backends.descriptions.contains { backend in
            backends.isAvailable(backend.name) && (backend.maxJobs.map { counts[backend.name, default: 0] < $0 } ?? true)
        }
    }
}
