import Foundation
import Logging
import Synchronization
import TES
import TaskStore

/// Runs one task from whatever state the store holds to a terminal state, over a ``ComputeBackend``: prepare and
/// submit (INITIALIZING), follow (RUNNING), collect and publish, record the outcome; or stop it (CANCELING).
///
/// Every step starts from the store, so a runner started after a crash picks up where the last one stopped; every
/// state change is a compare-and-set. QUEUED tasks are not its business: the ``Scheduler`` places them.
struct TaskRunner: Sendable {
    /// `logs[0].metadata` keys: the backend a task was placed on, and its job there once it is being submitted.
    static let metadataBackend = "tesp_backend"
    static let metadataJobID = "tesp_job_id"
    /// When the runner saw the job's first executor start (RFC 3339); `max_task_seconds` counts from it.
    static let metadataRunningSince = "tesp_running_since"
    /// What TESP 0.x wrote instead of `tesp_backend`, read for tasks placed before the upgrade.
    static let legacyMetadataBackend = "pulsar_server"

    /// The store; in a running runner, fenced on its task's lease (``FencedTaskStore``).
    var store: any TaskStore
    let backends: BackendRegistry
    let configuration: EngineConfiguration
    let clock: any EngineClock
    /// Status calls in flight at once, over all tasks.
    let polls: AsyncLimiter
    /// Tasks being prepared and submitted at once.
    let starts: AsyncLimiter
    /// Told of a task this runner put back to QUEUED (its backend went down), for the scheduler to place again.
    let placedAgain: @Sendable (String) -> Void
    let logger: Logger
    /// This process's leases; a runner checks its ticket before every side effect.
    let leases: LeaseKeeper
    /// The lease ticket of the task this runner drives (set by ``run(id:cancel:ticket:)``).
    var ticket: LeaseKeeper.Ticket?

    /// What a runner keeps while the store is unreachable: an outcome already collected (outputs published) is
    /// recorded when the store returns, not collected and published again.
    final class Memory: Sendable {
        private let outcome = Mutex<JobOutcome?>(nil)
        var pending: JobOutcome? { outcome.withLock { $0 } }
        func keep(_ value: JobOutcome?) { outcome.withLock { $0 = value } }
    }

    /// Runs until the task is terminal or QUEUED (placed again), until the engine shuts down (task
    /// cancellation), which leaves the task as it is in the store for the next start to resume, or until the
    /// task's lease is lost (another process drives it now, or will).
    func run(id: String, cancel: OneShotSignal, ticket: LeaseKeeper.Ticket) async {
        var runner = self
        runner.store = FencedTaskStore(inner: store, leases: leases, ticket: ticket)
        runner.ticket = ticket
        await runner.run(id: id, cancel: cancel)
    }

    private func run(id: String, cancel: OneShotSignal) async {
        var logger = logger
        logger[metadataKey: "tes.task.id"] = "\(id)"
        let memory = Memory()
        var storeRetry = Duration.milliseconds(500)
        while !Task.isCancelled {
            do {
                try await step(id: id, cancel: cancel, memory: memory, logger: logger)
                return
            } catch is CancellationError {
                return
            } catch let error as TaskStoreError where error.code == .leaseLost {
                // Nothing more is done here: the process that holds the lease now (or takes it) goes on.
                logger.info("Task lease lost; this process stops driving the task", metadata: ["reason": "\(error)"])
                return
            } catch let error as TaskStoreError where error.code == .unavailable {
                // The store is down: wait for it; nothing was decided meanwhile.
                logger.warning("Task store unavailable; retrying", metadata: ["error": "\(error)"])
                try? await clock.sleep(for: storeRetry)
                storeRetry = min(storeRetry * 2, .seconds(10))
            } catch let error as TaskStoreError where error.code == .notFound {
                return
            } catch where Task.isCancelled {
                // An error while shutting down (a call cut short) decides nothing: the next start resumes the task.
                return
            } catch {
                logger.error("Task runner failed", metadata: ["error": "\(error)"])
                await failAfterUnexpected(id: id, error: error, logger: logger)
                return
            }
        }
    }

    /// Acts on the stored state until the task is terminal (or back to QUEUED).
    private func step(id: String, cancel: OneShotSignal, memory: Memory, logger: Logger) async throws {
        while true {
            try Task.checkCancellation()
            try checkLease()
            var task = try await store.get(id: id, view: .full)
            switch task.state ?? .unknown {
            case .queued:
                return
            case .initializing:
                try await initialize(task, cancel: cancel, memory: memory, logger: logger)
            case .running, .paused:
                if Self.isStartingAgain(task) {
                    // The backend could not start the last job: the new one is prepared and submitted.
                    try await initialize(task, cancel: cancel, memory: memory, logger: logger)
                    continue
                }
                // Inline input content (up to the body limit per task) went to the backend at the submit: a runner
                // that follows a job for hours must not hold it.
                task.dropInputContent()
                try await follow(task, cancel: cancel, memory: memory, logger: logger)
            case .canceling:
                task.dropInputContent()
                try await finishCancel(task, logger: logger)
            case .complete, .executorError, .systemError, .canceled, .preempted, .unknown:
                return
            }
        }
    }

    // MARK: - Helpers shared by the steps

    /// Before a side effect (a submit, a cancel, a clean, publishing): the task is still this runner's.
    /// - Throws: ``TaskStoreError`` `.leaseLost` otherwise.
    func checkLease() throws {
        if let ticket { try leases.check(ticket) }
    }

    /// The backend a placed task was given (from its log metadata).
    func backend(of task: TESTask) throws -> any ComputeBackend {
        guard let name = Self.backendName(of: task) else { throw TaskFailure("the task has no backend recorded") }
        guard let backend = backends.backend(named: name) else {
            throw TaskFailure("backend '\(name)' is no longer configured")
        }
        return backend
    }

    static func backendName(of task: TESTask) -> String? {
        let metadata = task.logs?.first?.metadata
        return metadata?[metadataBackend] ?? metadata?[legacyMetadataBackend]
    }

    /// What the backend gets to run `task`.
    func job(for task: TESTask) async throws -> BackendJob {
        let id = task.id!
        return BackendJob(
            task: task,
            secrets: try await store.secrets(id: id),
            owner: try await store.owner(id: id),
            metadata: task.logs?.first?.metadata ?? [:]
        )
    }

    /// `body`'s result, or `nil` if the user cancels first (the store says CANCELING): then `body` is cancelled
    /// and awaited, which aborts its transfers.
    ///
    /// A fired signal the store does not confirm (a cancel that raced with another change) does not stop `body`;
    /// the store is then asked again every scan interval, so that a cancel made later through another process is
    /// still seen.
    func unlessCanceled<T: Sendable>(
        id: String,
        _ cancel: OneShotSignal,
        _ body: @escaping @Sendable () async throws -> T
    ) async throws -> T? {
        let store = self.store
        let clock = self.clock
        let recheck = configuration.scanInterval
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await body() }
            group.addTask {
                while true {
                    let fired = await cancel.wait(upTo: recheck, clock: clock)
                    try Task.checkCancellation()
                    if fired, try await store.get(id: id, view: .minimal).state == .canceling { return nil }
                    if fired { try await clock.sleep(for: recheck) }
                }
            }
            let first = try await group.next() ?? nil
            group.cancelAll()
            return first
        }
    }

    func clean(_ job: BackendJob, on backend: any ComputeBackend, logger: Logger) async {
        do {
            try checkLease()
            try await backend.clean(job, logger: logger)
        } catch {
            logger.warning("Backend job not cleaned", metadata: ["error": "\(error)"])
        }
    }

    /// After an error no step handles: SYSTEM_ERROR with the reason, from whatever non-terminal state the task is in.
    private func failAfterUnexpected(id: String, error: any Error, logger: Logger) async {
        let message = (error as? TaskFailure)?.description ?? (error as? BackendError)?.description
            ?? "internal error: \(type(of: error))"
        for _ in 0..<5 {
            guard (try? checkLease()) != nil else { return }
            guard let task = try? await store.get(id: id, view: .full), let state = task.state, !state.isTerminal else { return }
            if state == .canceling {
                try? await finishCancel(task, logger: logger)
                return
            }
            var target: (backend: any ComputeBackend, job: BackendJob)?
            if let backend = try? self.backend(of: task), let job = try? await job(for: task) { target = (backend, job) }
            if let target, state == .running || state == .initializing {
                _ = try? await target.backend.cancel(target.job, logger: logger)
            }
            do {
                try await finish(task, outcome: .systemError(message, executors: []), on: target, logger: logger)
                return
            } catch {
                try? await clock.sleep(for: .milliseconds(500))
            }
        }
    }
}

extension TESTaskLog {
    /// Adds `entries` to `metadata`, replacing the keys it has.
    mutating func addMetadata(_ entries: [String: String]) {
        metadata = (metadata ?? [:]).merging(entries, uniquingKeysWith: { _, new in new })
    }
}

extension TESTask {
    /// Changes `logs[0]` (made if there is none); later logs stay as they are. - Returns: the logs now.
    @discardableResult
    mutating func updateFirstLog(_ change: (inout TESTaskLog) -> Void) -> [TESTaskLog] {
        var log = logs?.first ?? TESTaskLog()
        change(&log)
        logs = [log] + (logs ?? []).dropFirst()
        return logs!
    }

    /// Forgets the inline content of the inputs (what the engine no longer needs once the job has its files).
    mutating func dropInputContent() {
        inputs = inputs?.map { input in
            var input = input
            input.content = nil
            return input
        }
    }
}
