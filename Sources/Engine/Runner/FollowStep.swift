import Foundation
import Logging
import TES
import TaskStore

extension TaskRunner {
    /// Follows a submitted job until it ends, the user cancels, or the time limit passes: INITIALIZING while the
    /// backend queues it, RUNNING from its first executor. Polls come fast after the submit and slow down for long
    /// jobs (each backend's calls are also spaced by its rate limit); there is no limit on how many.
    func follow(_ task: TESTask, cancel: OneShotSignal, memory: Memory, logger: Logger) async throws {
        let id = task.id!
        let backend = try self.backend(of: task)
        let job = try await job(for: task)
        var task = task
        var interval = configuration.pollInitial
        var failingSince: Date?
        var listening = true
        if let outcome = memory.pending {
            // Collected before the store went away: record it, do not collect (and publish) again.
            try await finish(task, outcome: outcome, on: (backend, job), logger: logger)
            memory.keep(nil)
            return
        }
        while true {
            // A backend told of changes wakes this loop at once; then polls are only its safety net.
            let change = backend.nextChange(of: job)
            let wait = change == nil ? interval : max(interval, pushedPollInterval)
            if listening {
                if await cancel.wait(upTo: wait, clock: clock, orUntil: change) {
                    // A cancel request: the next step sees CANCELING in the store. A signal the store does not
                    // confirm (a cancel that raced with the end of the task) is not listened to again.
                    if try await store.get(id: id, view: .minimal).state != task.state { return }
                    listening = false
                }
            } else if let change {
                _ = await change.wait(upTo: wait, clock: clock)
            } else {
                try await clock.sleep(for: interval)
            }
            try Task.checkCancellation()
            // A runner whose lease lapsed stops here, not only at its next write: it would poll for nothing.
            try checkLease()
            if let limit = configuration.maxTaskDuration, task.state == .running,
                let started = Self.runningSince(task), clock.now.since(started) > limit
            {
                try checkLease()
                let executors = (try? await backend.cancel(job, logger: logger)) ?? []
                try await finish(
                    task,
                    outcome: .systemError("the task ran longer than the configured limit of \(limit) and was stopped", executors: executors),
                    on: (backend, job),
                    logger: logger
                )
                return
            }
            let state: BackendJobState
            do {
                state = try await polls.run { [backend, job, logger] in
                    try await backends.rateLimit(for: backend.name).wait()
                    let start = ContinuousClock.now
                    defer { EngineMetrics.pollDuration(ContinuousClock.now - start) }
                    return try await backend.state(of: job, logger: logger)
                }
                failingSince = nil
            } catch let error as BackendError where error.kind != .failed {
                // TESP's own limits (busy) never count against the job; an unreachable backend does, up to the grace.
                if error.kind == .unavailable {
                    let since = failingSince ?? clock.now
                    failingSince = since
                    if clock.now.since(since) > configuration.transientGrace {
                        throw TaskFailure("backend '\(backend.name)' did not answer for longer than \(configuration.transientGrace): \(error)")
                    }
                }
                logger.warning("Backend status failed; will retry", metadata: ["error": "\(error)"])
                interval = min(max(interval * 2, .seconds(1)), configuration.pollMax)
                continue
            } catch let error as BackendError {
                throw TaskFailure("status of the job on backend '\(backend.name)' failed: \(error)")
            }
            logger.debug("Polled the backend", metadata: ["backend.state": "\(state)"])
            switch state {
            case .absent:
                try await finish(
                    task,
                    outcome: .systemError("the job is gone from backend '\(backend.name)'", executors: []),
                    on: (backend, job),
                    logger: logger
                )
                return
            case .queued:
                break
            case .running:
                guard let running = try await markRunning(task, logger: logger) else { return }
                task = running
            case .finished:
                guard let running = try await markRunning(task, logger: logger) else { return }
                task = running
                try checkLease()
                // A cancel stops the publishing of outputs at once (its transfers abort); the next step then
                // finds CANCELING and ends the task CANCELED, with no outputs listed.
                guard
                    let outcome = try await unlessCanceled(id: id, cancel, { [job, logger] in
                        try await backend.collect(job, logger: logger)
                    })
                else { return }
                if case .notStarted(let reason) = outcome,
                    try await startAgain(task, job: job, on: backend, reason: reason, logger: logger)
                {
                    return  // the next step prepares and submits the new job
                }
                memory.keep(outcome)
                try await finish(task, outcome: outcome, on: (backend, job), logger: logger)
                memory.keep(nil)
                return
            case .lost(let reason):
                try checkLease()
                let executors = (try? await backend.cancel(job, logger: logger)) ?? []
                try await finish(task, outcome: .systemError(reason, executors: executors), on: (backend, job), logger: logger)
                return
            }
            interval = min(interval * configuration.pollGrowth, configuration.pollMax)
        }
    }

    /// When the task was first seen RUNNING (kept in `logs[0].metadata`, so that `max_task_seconds` counts from
    /// there across restarts too).
    static func runningSince(_ task: TESTask) -> Date? {
        task.logs?.first?.metadata?[metadataRunningSince].flatMap(TESTime.parse)
    }

    /// INITIALIZING → RUNNING, noting when (`tesp_running_since`).
    /// - Returns: the task as it is now, or `nil` if it moved meanwhile (a cancel): the caller re-reads.
    private func markRunning(_ task: TESTask, logger: Logger) async throws -> TESTask? {
        guard task.state == .initializing else { return task }
        var task = task
        let logs = task.updateFirstLog { $0.addMetadata([Self.metadataRunningSince: TESTime.format(clock.now)]) }
        guard try await store.compareAndSetState(id: task.id!, from: .initializing, to: .running, logs: logs) else { return nil }
        EngineMetrics.transition(to: .running)
        logger.info("Task running")
        task.state = .running
        return task
    }
}
