import Foundation
import Logging
import NIOCore
import Pulsar
import TES
import TaskStore
import Transfer

/// Drives one task from whatever state the store holds to a terminal state: claims it, sets up and submits its
/// Pulsar job, follows the job, and records the outcome. Every step starts from the store, so a driver started
/// after a crash picks up where the last one stopped; every state change is a compare-and-set.
struct TaskDriver: Sendable {
    static let jobScriptName = "tesp-job.sh"
    static let metadataServer = "pulsar_server"
    static let metadataJobID = "pulsar_job_id"
    /// The records file can hold 64 KiB of stdout and stderr per executor.
    static let maxRecordsBytes = 256 * 1024 * 1024

    let store: any TaskStore
    let backends: PulsarBackends
    let configuration: EngineConfiguration
    let polls: AsyncLimiter
    let starts: AsyncLimiter
    let inputs: InputStager
    let outputs: OutputPublisher
    let logger: Logger

    /// The Pulsar job id of a task: its id, prefixed so that operators can tell TESP's jobs apart.
    static func jobID(for taskID: String) -> String { "tesp-\(taskID)" }

    /// Runs until the task is terminal, or until the engine shuts down (task cancellation), which leaves the task as
    /// it is in the store for the next start to resume.
    func drive(id: String, cancel: OneShotSignal) async {
        var logger = logger
        logger[metadataKey: "tes.task.id"] = "\(id)"
        var storeRetry = Duration.milliseconds(500)
        while !Task.isCancelled {
            do {
                try await step(id: id, cancel: cancel, logger: logger)
                return
            } catch is CancellationError {
                return
            } catch let error as TaskStoreError where error.code == .unavailable {
                // The store is down: wait for it; nothing was decided meanwhile.
                logger.warning("Task store unavailable; retrying", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: storeRetry)
                storeRetry = min(storeRetry * 2, .seconds(10))
            } catch let error as TaskStoreError where error.code == .notFound {
                return
            } catch {
                logger.error("Task driver failed", metadata: ["error": "\(error)"])
                await failAfterUnexpected(id: id, error: error, logger: logger)
                return
            }
        }
    }

    /// One pass: acts on the stored state until the task is terminal.
    private func step(id: String, cancel: OneShotSignal, logger: Logger) async throws {
        while true {
            try Task.checkCancellation()
            var task = try await store.get(id: id, view: .full)
            switch task.state ?? .unknown {
            case .queued:
                try await starts.run { [task] in try await claim(task, logger: logger) }
            case .initializing:
                try await starts.run { [task] in try await submit(task, cancel: cancel, logger: logger) }
            case .running, .paused:
                // Inline input content (up to the body limit per task) was uploaded at the submit: a driver that
                // follows a job for hours must not hold it.
                task.dropInputContent()
                try await follow(task, cancel: cancel, logger: logger)
            case .canceling:
                task.dropInputContent()
                try await finishCancel(task, logger: logger)
            case .complete, .executorError, .systemError, .canceled, .preempted, .unknown:
                return
            }
        }
    }

    // MARK: - QUEUED → INITIALIZING

    /// Picks a Pulsar server and claims the task for it.
    private func claim(_ task: TESTask, logger: Logger) async throws {
        let id = task.id!
        guard let backend = backends.leastLoaded() else {
            throw TaskFailure("no Pulsar server is configured")
        }
        var log = task.logs?.first ?? TESTaskLog()
        log.startTime = Date()
        log.metadata = (log.metadata ?? [:]).merging(
            [Self.metadataServer: backend.name, Self.metadataJobID: Self.jobID(for: id)],
            uniquingKeysWith: { _, new in new }
        )
        if try await store.compareAndSetState(id: id, from: .queued, to: .initializing, logs: [log]) {
            EngineMetrics.transition(to: .initializing)
            logger.info("Task initializing", metadata: ["pulsar.server": "\(backend.name)"])
        }
    }

    // MARK: - INITIALIZING → RUNNING

    /// Sets up the Pulsar job, uploads its files and submits it, unless Pulsar already has it running (a restart
    /// after the submit): a job is never submitted twice.
    private func submit(_ task: TESTask, cancel: OneShotSignal, logger: Logger) async throws {
        let id = task.id!
        let backend = try self.backend(of: task)
        let jobID = Self.jobID(for: id)
        var logger = logger
        logger[metadataKey: "pulsar.job.id"] = "\(jobID)"
        let existing = try await retrying("status of the Pulsar job", logger: logger) { try await backend.status(jobID: jobID) }
        switch existing.state {
        case .preprocessing, .lost:
            let directories = try await retrying("set-up of the Pulsar job", logger: logger) {
                try await backend.setup(jobID: jobID)
            }
            let secrets = try await store.secrets(id: id)
            let owner = try await store.owner(id: id)
            // A cancel stops the staging at once (its transfers abort); the store says CANCELING, and the next step
            // cleans the job up.
            let stager = inputs
            guard
                let placed = try await unlessCanceled(id: id, cancel, { [logger] in
                    try await stager.stage(task, secrets: secrets, owner: owner, backend: backend, jobID: jobID, logger: logger)
                })
            else { return }
            let script = JobScript(
                taskID: id,
                task: task,
                runtime: configuration.runtime,
                inputsDirectory: directories.inputsDirectory,
                inputs: placed,
                heartbeatSeconds: Int(configuration.heartbeatInterval.components.seconds)
            )
            try await retrying("upload of the job script", logger: logger) {
                try await backend.upload(
                    jobID: jobID,
                    name: Self.jobScriptName,
                    type: .config,
                    contents: ByteBuffer(string: script.render())
                )
            }
            if cancel.isFired { return }  // the store now says CANCELING: the next step cleans up
            let commandLine = "bash " + ShellQuote.quote(directories.configsDirectory + "/" + Self.jobScriptName)
            try await retrying("submission of the Pulsar job", logger: logger) {
                try await backend.submit(jobID: jobID, commandLine: commandLine)
            }
            logger.info("Submitted to Pulsar")
        default:
            logger.info("Pulsar already has the job; not submitting it again", metadata: ["pulsar.state": "\(existing.state)"])
        }
        if try await store.compareAndSetState(id: id, from: .initializing, to: .running) {
            EngineMetrics.transition(to: .running)
            logger.info("Task running")
        }
    }

    /// `body`'s result, or `nil` if the user cancels first (the store says CANCELING): then `body` is cancelled
    /// and awaited, which aborts its transfers.
    ///
    /// A fired signal the store does not confirm (a cancel that raced with another change) does not stop `body`;
    /// the store is then asked again every scan interval, so that a cancel made later through another process is
    /// still seen.
    private func unlessCanceled<T: Sendable>(
        id: String,
        _ cancel: OneShotSignal,
        _ body: @escaping @Sendable () async throws -> T
    ) async throws -> T? {
        let store = self.store
        let recheck = configuration.scanInterval
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await body() }
            group.addTask {
                while true {
                    let fired = await cancel.wait(upTo: recheck)
                    try Task.checkCancellation()
                    if fired, try await store.get(id: id, view: .minimal).state == .canceling { return nil }
                    if fired { try await Task.sleep(for: recheck) }
                }
            }
            let first = try await group.next() ?? nil
            group.cancelAll()
            return first
        }
    }

    // MARK: - RUNNING → terminal

    /// Polls the job until it ends, the user cancels, or the time limit passes. Polls come fast after the submit
    /// and slow down for long jobs; there is no limit on how many.
    private func follow(_ task: TESTask, cancel: OneShotSignal, logger: Logger) async throws {
        let id = task.id!
        let backend = try self.backend(of: task)
        let jobID = Self.jobID(for: id)
        let started = task.logs?.first?.startTime ?? Date()
        var interval = configuration.pollInitial
        var failingSince: ContinuousClock.Instant?
        var listening = true
        var heartbeat = HeartbeatWatch(since: .now)
        while true {
            if listening {
                if await cancel.wait(upTo: interval) {
                    // A cancel request: the next step sees CANCELING in the store. A signal the store does not
                    // confirm (a cancel that raced with the end of the task) is not listened to again.
                    if try await store.get(id: id, view: .minimal).state != task.state { return }
                    listening = false
                }
            } else {
                try await Task.sleep(for: interval)
            }
            try Task.checkCancellation()
            if let limit = configuration.maxTaskDuration, Date().timeIntervalSince(started) > Double(limit.components.seconds) {
                try? await backend.cancel(jobID: jobID)
                try await finish(
                    task,
                    backend: backend,
                    outcome: .systemError,
                    message: "the task ran longer than the configured limit of \(limit) and was stopped",
                    records: nil,
                    logger: logger
                )
                return
            }
            let status: PulsarJobStatus
            do {
                let pollStart = ContinuousClock.now
                status = try await polls.run { try await backend.status(jobID: jobID) }
                EngineMetrics.pollDuration(ContinuousClock.now - pollStart)
                failingSince = nil
            } catch let error as PulsarError where error.isTransient {
                let since = failingSince ?? .now
                failingSince = since
                if ContinuousClock.now - since > configuration.transientGrace {
                    throw TaskFailure("Pulsar '\(backend.name)' did not answer for longer than \(configuration.transientGrace): \(error)")
                }
                logger.warning("Pulsar status failed; will retry", metadata: ["error": "\(error)"])
                interval = min(max(interval * 2, .seconds(1)), configuration.pollMax)
                continue
            }
            logger.debug("Polled Pulsar", metadata: ["pulsar.state": "\(status.state)"])
            if status.isFinished {
                try await conclude(task, backend: backend, status: status, cancel: cancel, logger: logger)
                return
            }
            if status.state == .running, heartbeat.isDue(every: configuration.heartbeatInterval) {
                let beat = try? await backend.download(jobID: jobID, name: JobScript.heartbeatPath, type: .outputWorkdir, maxBytes: 64)
                if heartbeat.isDead(seen: beat.map { String(buffer: $0) }, timeout: configuration.heartbeatTimeout) {
                    try? await backend.cancel(jobID: jobID)
                    let records = await downloadRecords(jobID: jobID, backend: backend, logger: logger)
                    try await finish(
                        task,
                        backend: backend,
                        outcome: .systemError,
                        message: "the job stopped on Pulsar '\(backend.name)' without finishing: its processes are gone "
                            + "(was Pulsar restarted?)",
                        records: records,
                        logger: logger
                    )
                    return
                }
            }
            if status.state == .postprocessing {
                interval = configuration.pollInitial  // the job has ended; Pulsar is about to say so
            } else {
                interval = min(interval * configuration.pollGrowth, configuration.pollMax)
            }
        }
    }

    /// Turns a finished job into the task's terminal state.
    private func conclude(
        _ task: TESTask,
        backend: any PulsarJobs,
        status: PulsarJobStatus,
        cancel: OneShotSignal,
        logger: Logger
    ) async throws {
        let jobID = Self.jobID(for: task.id!)
        switch status.state {
        case .lost:
            try await finish(
                task,
                backend: backend,
                outcome: .systemError,
                message: "Pulsar '\(backend.name)' lost the job",
                records: nil,
                logger: logger
            )
            return
        case .cancelled:
            try await finish(
                task,
                backend: backend,
                outcome: .systemError,
                message: "the job was cancelled on Pulsar '\(backend.name)', not by this server",
                records: nil,
                logger: logger
            )
            return
        default:
            break
        }
        let records = await downloadRecords(jobID: jobID, backend: backend, logger: logger)
        guard status.state == .complete, status.returnCode == 0 else {
            let code = status.returnCode.map(String.init) ?? "none"
            let detail = String(status.jobStderr.suffix(2000))
            try await finish(
                task,
                backend: backend,
                outcome: .systemError,
                message: "the job script failed on Pulsar '\(backend.name)' (state \(status.state), exit code \(code)): \(detail)",
                records: records,
                logger: logger
            )
            return
        }
        guard let records, records.finished else {
            try await finish(
                task,
                backend: backend,
                outcome: .systemError,
                message: "the job ended without recording its executors",
                records: records,
                logger: logger
            )
            return
        }
        if records.stoppedOnFailure {
            // Outputs are published only when every executor succeeded (see the README).
            try await finish(task, backend: backend, outcome: .executorError, message: nil, records: records, logger: logger)
            return
        }
        let published: [TESOutputFileLog]
        do {
            let secrets = try await store.secrets(id: task.id!)
            let owner = try await store.owner(id: task.id!)
            // A cancel stops the publishing at once (its transfers abort); the next step finds CANCELING and ends
            // the task CANCELED, with the outputs it had published not listed.
            let publisher = outputs
            guard
                let done = try await unlessCanceled(id: task.id!, cancel, { [task, logger] in
                    try await publisher.publish(task, secrets: secrets, owner: owner, backend: backend, jobID: jobID, logger: logger)
                })
            else { return }
            published = done
        } catch let failure as TaskFailure {
            try await finish(
                task,
                backend: backend,
                outcome: .systemError,
                message: failure.description,
                records: records,
                logger: logger
            )
            return
        }
        try await finish(
            task,
            backend: backend,
            outcome: .complete,
            message: nil,
            records: records,
            outputs: published,
            logger: logger
        )
    }

    /// The executor records of the job, or `nil` if there are none (a job that never started has no file, and
    /// Pulsar answers 500 for a missing file, so only an unreachable server is retried).
    private func downloadRecords(jobID: String, backend: any PulsarJobs, logger: Logger) async -> JobRecords? {
        do {
            let buffer = try await retrying("download of the executor records", retryServerErrors: false, logger: logger) {
                try await backend.download(jobID: jobID, name: JobScript.recordsPath, type: .outputWorkdir, maxBytes: Self.maxRecordsBytes)
            }
            return JobRecords(parsing: Data(buffer: buffer))
        } catch {
            logger.warning("Executor records unavailable", metadata: ["error": "\(error)"])
            return nil
        }
    }

    /// Records the outcome with one compare-and-set from RUNNING (or INITIALIZING); a task canceled meanwhile ends
    /// CANCELED instead. Then cleans the Pulsar job.
    private func finish(
        _ task: TESTask,
        backend: (any PulsarJobs)?,
        outcome: TESState,
        message: String?,
        records: JobRecords?,
        outputs published: [TESOutputFileLog] = [],
        logger: Logger
    ) async throws {
        let id = task.id!
        var log = task.logs?.first ?? TESTaskLog()
        if let records { log.logs = records.executorLogs }
        log.outputs = published
        log.endTime = Date()
        if let message { log.systemLogs = (log.systemLogs ?? []) + [message] }
        let from = task.state ?? .unknown
        var outcome = outcome
        var stored: Bool
        do {
            stored = from.canMove(to: outcome) ? try await store.compareAndSetState(id: id, from: from, to: outcome, logs: [log]) : false
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
            outcome = .systemError
            stored = from.canMove(to: outcome) ? try await store.compareAndSetState(id: id, from: from, to: outcome, logs: [log]) : false
        }
        if stored {
            EngineMetrics.transition(to: outcome)
            logger.info("Task finished", metadata: ["tes.task.state": "\(outcome.rawValue)"])
            if let message { logger.warning("Task failed", metadata: ["reason": "\(message)"]) }
            if let backend, outcome == .complete || !configuration.keepFailedJobs {
                await clean(jobID: Self.jobID(for: id), backend: backend, logger: logger)
            }
            return
        }
        // Someone else moved the task (a cancel): the caller's next step reads the new state.
    }

    // MARK: - CANCELING → CANCELED

    /// Stops the Pulsar job (the processes really end), keeps what the executors recorded, cleans up.
    private func finishCancel(_ task: TESTask, logger: Logger) async throws {
        let id = task.id!
        let jobID = Self.jobID(for: id)
        var log = task.logs?.first ?? TESTaskLog()
        if let backend = try? self.backend(of: task) {
            do {
                try await retrying("cancel of the Pulsar job", logger: logger) { try await backend.cancel(jobID: jobID) }
            } catch let failure as TaskFailure {
                // The user asked to stop; a Pulsar that stays unreachable must not keep the task CANCELING forever.
                log.systemLogs = (log.systemLogs ?? []) + ["\(failure); the job may still be running on Pulsar '\(backend.name)'"]
            }
            if let records = await downloadRecords(jobID: jobID, backend: backend, logger: logger) {
                log.logs = records.executorLogs
            }
            await clean(jobID: jobID, backend: backend, logger: logger)
        }
        log.endTime = Date()
        if try await store.compareAndSetState(id: id, from: .canceling, to: .canceled, logs: task.logs == nil ? [] : [log]) {
            EngineMetrics.transition(to: .canceled)
            logger.info("Task canceled")
        }
    }

    // MARK: - Helpers

    /// Tells a live job from a dead one by whether its heartbeat file changes, on this server's clock only (the
    /// Pulsar host's clock may differ).
    struct HeartbeatWatch {
        private var lastValue: String?
        private var lastChange: ContinuousClock.Instant
        private var lastCheck: ContinuousClock.Instant?

        /// The first check is due one interval after `start`, not at once: the job script writes the file as it
        /// starts, and asking Pulsar for a file that is not there yet makes it log a 500 with the request's URL,
        /// private token included.
        init(since start: ContinuousClock.Instant) {
            lastChange = start
            lastCheck = start
        }

        mutating func isDue(every interval: Duration) -> Bool {
            let now = ContinuousClock.now
            if let lastCheck, now - lastCheck < interval { return false }
            lastCheck = now
            return true
        }

        /// Records what the heartbeat file holds now (`nil`: could not be read).
        /// - Returns: whether it has not changed for longer than `timeout`.
        mutating func isDead(seen value: String?, timeout: Duration) -> Bool {
            if let value, value != lastValue {
                lastValue = value
                lastChange = .now
                return false
            }
            return ContinuousClock.now - lastChange > timeout
        }
    }

    private func clean(jobID: String, backend: any PulsarJobs, logger: Logger) async {
        do {
            try await backend.clean(jobID: jobID)
        } catch {
            logger.warning("Pulsar job not cleaned", metadata: ["error": "\(error)"])
        }
    }

    /// The Pulsar server a claimed task was given (from its log metadata).
    private func backend(of task: TESTask) throws -> any PulsarJobs {
        guard let name = task.logs?.first?.metadata?[Self.metadataServer] else {
            throw TaskFailure("the task has no Pulsar server recorded")
        }
        guard let backend = backends.named(name) else {
            throw TaskFailure("Pulsar server '\(name)' is no longer configured")
        }
        return backend
    }

    /// Retries a Pulsar call while it fails transiently, up to the grace period.
    private func retrying<T: Sendable>(
        _ what: String,
        retryServerErrors: Bool = true,
        logger: Logger,
        _ body: @Sendable () async throws -> T
    ) async throws -> T {
        let start = ContinuousClock.now
        var delay = Duration.milliseconds(200)
        while true {
            do {
                return try await body()
            } catch let error as PulsarError where error.code == .unreachable || (retryServerErrors && error.isTransient) {
                if ContinuousClock.now - start > configuration.transientGrace {
                    throw TaskFailure("\(what) failed for longer than \(configuration.transientGrace): \(error)")
                }
                logger.warning("Pulsar call failed; will retry", metadata: ["operation": "\(what)", "error": "\(error)"])
                try await Task.sleep(for: delay)
                delay = min(delay * 2, .seconds(10))
            } catch let error as PulsarError {
                throw TaskFailure("\(what) failed: \(error)")
            }
        }
    }

    /// After an error no step handles: SYSTEM_ERROR with the reason, from whatever non-terminal state the task is in.
    private func failAfterUnexpected(id: String, error: any Error, logger: Logger) async {
        let message = (error as? TaskFailure)?.description ?? "internal error: \(type(of: error))"
        for _ in 0..<5 {
            guard let task = try? await store.get(id: id, view: .full), let state = task.state, !state.isTerminal else { return }
            if state == .canceling {
                try? await finishCancel(task, logger: logger)
                return
            }
            let backend = try? self.backend(of: task)
            if let backend, state == .running || state == .initializing {
                try? await backend.cancel(jobID: Self.jobID(for: id))
            }
            do {
                try await finish(task, backend: backend, outcome: .systemError, message: message, records: nil, logger: logger)
                return
            } catch {
                try? await Task.sleep(for: .milliseconds(500))
            }
        }
    }
}

extension TESTask {
    /// Forgets the inline content of the inputs (what the engine no longer needs once the job has its files).
    mutating func dropInputContent() {
        inputs = inputs?.map { input in
            var input = input
            input.content = nil
            return input
        }
    }
}
