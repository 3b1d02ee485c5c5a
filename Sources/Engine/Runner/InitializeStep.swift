import Foundation
import Logging
import TES
import TaskStore

extension TaskRunner {
    /// INITIALIZING: prepares the job (stage in), records that it is being submitted, submits it; then follows it
    /// until its first executor starts (RUNNING). A task never submitted whose backend is down goes back to
    /// QUEUED, to be placed elsewhere.
    func initialize(_ task: TESTask, cancel: OneShotSignal, memory: Memory, logger: Logger) async throws {
        let id = task.id!
        let backend = try self.backend(of: task)
        var logger = logger
        logger[metadataKey: "tesp.backend"] = "\(backend.name)"
        var task = task
        var job = try await job(for: task)
        let submitting = job.metadata[Self.metadataJobID] != nil
        if !submitting {
            if !backends.isAvailable(backend.name), try await placeAgain(task, logger: logger) { return }
            let prepared: Void?
            try checkLease()
            do {
                prepared = try await unlessCanceled(id: id, cancel, { [job, logger, starts] in
                    try await starts.run { try await backend.prepare(job, logger: logger) }
                })
            } catch where !(error is CancellationError) && !backends.isAvailable(backend.name) {
                logger.warning("Backend went down while the task was prepared", metadata: ["error": "\(error)"])
                if try await placeAgain(task, logger: logger) { return }
                throw error
            }
            guard prepared != nil else { return }  // canceled: the next step finds CANCELING
            // From here on the job may exist on the backend: the task stays with it.
            try await store.updateLogs(id: id, task.updateFirstLog { $0.addMetadata([Self.metadataJobID: job.jobID]) })
            job.metadata = task.logs?.first?.metadata ?? [:]
        }
        try checkLease()
        guard
            let extra = try await unlessCanceled(id: id, cancel, { [job, logger, starts] in
                try await starts.run { try await backend.submit(job, logger: logger) }
            })
        else { return }
        if !extra.isEmpty {
            try await store.updateLogs(id: id, task.updateFirstLog { $0.addMetadata(extra) })
        }
        task.dropInputContent()
        try await follow(task, cancel: cancel, memory: memory, logger: logger)
    }

    /// INITIALIZING → QUEUED with the backend forgotten. - Returns: whether the store made the move.
    private func placeAgain(_ task: TESTask, logger: Logger) async throws -> Bool {
        var log = task.logs?.first ?? TESTaskLog()
        log.metadata?[Self.metadataBackend] = nil
        log.metadata?[Self.legacyMetadataBackend] = nil
        log.systemLogs = (log.systemLogs ?? []) + ["backend '\(Self.backendName(of: task) ?? "?")' is down; the task is placed again"]
        let moved = try await store.compareAndSetState(
            id: task.id!,
            from: .initializing,
            to: .queued,
            update: TaskUpdate(logs: [log], backend: .clear)
        )
        if moved {
            placedAgain(task.id!)
            EngineMetrics.transition(to: .queued)
            logger.warning("Backend down before the submit; task queued to be placed again")
        }
        return moved
    }
}
