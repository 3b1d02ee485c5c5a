import Foundation
import Logging
import TES
import TaskStore

extension TaskRunner {
    /// Records the outcome with one compare-and-set from the task's state; a task canceled meanwhile is left for
    /// the next step (which ends it CANCELED). Then cleans the job on the backend it ran on (`target`).
    func finish(
        _ task: TESTask,
        outcome: JobOutcome,
        on target: (backend: any ComputeBackend, job: BackendJob)?,
        logger: Logger
    ) async throws {
        let id = task.id!
        var log = task.logs?.first ?? TESTaskLog()
        var next: TESState
        switch outcome {
        case .complete(let executors, let outputs):
            next = .complete
            log.logs = executors
            log.outputs = outputs
        case .executorError(let executors):
            next = .executorError
            log.logs = executors
            log.systemLogs = (log.systemLogs ?? []) + [Self.executorFailure(of: task, executors: executors)]
        case .systemError(let message, let executors):
            next = .systemError
            if !executors.isEmpty { log.logs = executors }
            log.systemLogs = (log.systemLogs ?? []) + [message]
        case .notStarted(let message):
            next = .systemError
            log.systemLogs = (log.systemLogs ?? []) + [message]
        }
        log.endTime = clock.now
        let from = task.state ?? .unknown
        let logs = [log] + (task.logs ?? []).dropFirst()
        var stored: Bool
        do {
            stored = from.canMove(to: next) ? try await store.compareAndSetState(id: id, from: from, to: next, logs: logs) : false
        } catch let error as TaskStoreError where error.code == .tooLarge || error.code == .failed {
            // A permanent refusal (MongoDB's document limit; some servers answer it as an internal error): the
            // same write would fail forever. Keep what fits, say why, and end the task as a system error.
            let bytes = log.logs.reduce(0) { $0 + ($1.stdout?.utf8.count ?? 0) + ($1.stderr?.utf8.count ?? 0) }
            log.logs = log.logs.map { executorLog in
                var trimmed = executorLog
                trimmed.stdout = nil
                trimmed.stderr = nil
                return trimmed
            }
            log.outputs = []
            log.systemLogs = (log.systemLogs ?? []) + [
                "storing the task's logs failed: \(bytes) bytes of executor stdout and stderr are more than the store "
                    + "holds; they were dropped (\(error))"
            ]
            next = .systemError
            stored = from.canMove(to: next) ? try await store.compareAndSetState(id: id, from: from, to: next, logs: [log]) : false
        }
        guard stored else { return }  // someone else moved the task (a cancel): the caller's next step reads it
        EngineMetrics.transition(to: next)
        logger.info("Task finished", metadata: ["tes.task.state": "\(next.rawValue)"])
        switch outcome {
        case .systemError(let message, _), .notStarted(let message):
            logger.warning("Task failed", metadata: ["reason": "\(message)"])
        default:
            break
        }
        if let target, next == .complete || !configuration.keepFailedJobs {
            await clean(target.job, on: target.backend, logger: logger)
        }
    }

    /// CANCELING → CANCELED: stops the backend's job (the processes really end), keeps what the executors
    /// recorded, cleans up.
    func finishCancel(_ task: TESTask, logger: Logger) async throws {
        let id = task.id!
        var log = task.logs?.first ?? TESTaskLog()
        if let backend = try? self.backend(of: task) {
            let job = try await job(for: task)
            try checkLease()
            do {
                let executors = try await backend.cancel(job, logger: logger)
                if !executors.isEmpty { log.logs = executors }
            } catch let failure as TaskFailure {
                // The user asked to stop; a backend that stays unreachable must not keep the task CANCELING forever.
                log.systemLogs = (log.systemLogs ?? []) + ["\(failure); the job may still be running on backend '\(backend.name)'"]
            }
            await clean(job, on: backend, logger: logger)
        }
        log.endTime = clock.now
        let logs = task.logs == nil ? [] : [log] + (task.logs ?? []).dropFirst()
        if try await store.compareAndSetState(id: id, from: .canceling, to: .canceled, logs: logs) {
            EngineMetrics.transition(to: .canceled)
            logger.info("Task canceled")
        }
    }

    /// The `system_logs` line of an EXECUTOR_ERROR: which executor failed, with what exit code, and which did not
    /// run after it (indexes as in `executors` and `logs[0].logs`).
    static func executorFailure(of task: TESTask, executors: [TESExecutorLog]) -> String {
        let definitions = task.executors ?? []
        guard
            let index = executors.indices.last(where: { index in
                executors[index].exitCode != 0 && !(definitions.indices.contains(index) && definitions[index].ignoreError == true)
            })
        else { return "an executor failed" }
        let image = definitions.indices.contains(index) ? definitions[index].image.map { " (\($0))" } ?? "" : ""
        let code = executors[index].exitCode
        let failed = code == -1 ? "executors[\(index)]\(image) did not end" : "executors[\(index)]\(image) exited with code \(code)"
        let skipped = definitions.count - (index + 1)
        switch skipped {
        case ...0: return failed
        case 1: return failed + "; executors[\(index + 1)] did not run"
        default: return failed + "; executors[\(index + 1)] to [\(definitions.count - 1)] did not run"
        }
    }
}
