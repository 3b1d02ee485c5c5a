import Logging
import TES

extension TaskRunner {
    /// How many jobs a task may be started as when the backend cannot start them (``JobOutcome/notStarted(_:)``).
    static let maxStartAttempts = 3

    /// A job the backend could not start, and of which nothing ran, is cleaned and the task is given a new job
    /// (`tesp-<id>-<attempt>`): its job id is forgotten, so that the next step prepares and submits the new one.
    /// The task keeps its state (it only ever moves forward); `system_logs` says what happened.
    /// - Returns: `false` when the attempts are used up: the caller records the failure.
    func startAgain(_ task: TESTask, job: BackendJob, on backend: any ComputeBackend, reason: String, logger: Logger) async throws -> Bool {
        let next = job.attempt + 1
        guard next <= Self.maxStartAttempts else { return false }
        try checkLease()
        await clean(job, on: backend, logger: logger)
        var task = task
        let logs = task.updateFirstLog { log in
            log.metadata?[Self.metadataJobID] = nil
            log.addMetadata([BackendJob.metadataAttempt: String(next)])
            log.systemLogs = (log.systemLogs ?? []) + [
                "\(reason); no executor ran, so the task is started again as a new job (attempt \(next) of \(Self.maxStartAttempts))"
            ]
        }
        try await store.updateLogs(id: task.id!, logs)
        logger.warning("Backend could not start the job; starting it again", metadata: ["reason": "\(reason)", "attempt": "\(next)"])
        return true
    }

    /// Whether the task's last job could not start and the new one is still to be prepared and submitted.
    static func isStartingAgain(_ task: TESTask) -> Bool {
        let metadata = task.logs?.first?.metadata ?? [:]
        return metadata[BackendJob.metadataAttempt] != nil && metadata[metadataJobID] == nil
    }
}
