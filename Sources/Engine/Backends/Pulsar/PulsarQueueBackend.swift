import Foundation
import JobScript
import Logging
import Metrics
import Pulsar
import Synchronization
import TES
import Transfer

/// A Pulsar server in message-queue mode as a ``ComputeBackend``: TESP and Pulsar both connect to a broker, and
/// nothing connects to Pulsar. One setup message carries the job (its script and content inputs as files, its URL
/// inputs as fetches Pulsar makes); Pulsar publishes every state change, which this backend keeps, so following
/// a job costs no calls. Files never pass through TESP: inputs and FILE outputs are moved on the Pulsar host
/// (``PulsarSideStaging``), and the job script reports its executors and outputs on its stdout, which Pulsar's
/// final status carries (``JobReport``).
///
/// A lost message delays a task but never strands it: a job not heard of for ``Settings/statusRequestInterval`` is
/// asked for its status again, and so is every job after a TESP restart (nothing is known yet) and after Pulsar
/// reconnects to the broker. A request Pulsar leaves unanswered for ``Settings/answerTimeout`` makes the job's
/// backend count as not answering, and the engine's transient grace then applies, as for a REST server that is down.
final class PulsarQueueBackend: ComputeBackend {
    struct Settings: Sendable {
        var runtime: ContainerRuntime
        var heartbeatInterval: Duration
        /// How long a job may go unheard of before its status is asked for again (a safety net: Pulsar publishes
        /// every change by itself).
        var statusRequestInterval: Duration
        /// How long Pulsar may leave a status request unanswered before the backend counts as not answering.
        var answerTimeout: Duration
        var retry: RetryPolicy
    }

    /// What this process knows of one job.
    struct Known: Sendable {
        var status: PulsarJobStatus?
        /// When Pulsar last said anything about it (or when it was launched).
        var heard: Date
        /// When its status was last asked for; `nil`: to be asked at the next follow.
        var asked: Date?
        /// The oldest request Pulsar has not answered yet.
        var unansweredSince: Date?
    }

    let queue: any PulsarMessages
    let staging: PulsarSideStaging
    private let settings: Settings
    private let clock: any EngineClock
    private let known = Mutex<[String: Known]>([:])
    /// Fired at a job's next update: the runner following it looks at once.
    private let changes = Mutex<[String: OneShotSignal]>([:])
    /// Pulsar's consumers on its setup queue at the last health check (a change from 0 means it reconnected).
    private let lastConsumers = Mutex<Int?>(nil)
    private let logger: Logger

    var name: String { queue.name }

    init(queue: any PulsarMessages, staging: PulsarSideStaging, settings: Settings, clock: any EngineClock, logger: Logger) {
        self.queue = queue
        self.staging = staging
        self.settings = settings
        self.clock = clock
        var logger = logger
        logger[metadataKey: "tesp.backend"] = "\(queue.name)"
        self.logger = logger
    }

    // MARK: Status updates

    /// Takes Pulsar's status updates until the stream ends: each is kept, then acknowledged (a malformed one is
    /// logged and acknowledged: given again, it would be as malformed).
    func consumeUpdates() async {
        for await delivery in queue.updates {
            do {
                let update = try PulsarStatusUpdate(delivery)
                record(update.status, for: update.jobID)
                logger.debug("Pulsar status update", metadata: ["tesp.job": "\(update.jobID)", "pulsar.state": "\(update.status.state)"])
            } catch {
                logger.warning(
                    "Dropped a status message that is not a Pulsar status",
                    metadata: ["error": "\(error)", "bytes": "\(delivery.body.count)"])
            }
            queue.acknowledge(delivery)
        }
    }

    /// Keeps `status` unless a finished status is already known (a late, stale update must not undo an end).
    func record(_ status: PulsarJobStatus, for jobID: String) {
        let now = clock.now
        known.withLock { known in
            var entry = known[jobID] ?? Known(status: nil, heard: now, asked: now)
            entry.heard = now
            entry.unansweredSince = nil
            if !(entry.status?.isFinished ?? false) || status.isFinished { entry.status = status }
            known[jobID] = entry
        }
        changes.withLock { $0.removeValue(forKey: jobID) }?.fire()
    }

    func nextChange(of job: BackendJob) -> OneShotSignal? {
        changes.withLock { changes in
            if let signal = changes[job.jobID], !signal.isFired { return signal }
            let signal = OneShotSignal()
            changes[job.jobID] = signal
            return signal
        }
    }

    // MARK: Prepare and submit

    /// Checks that every file can be moved without TESP: nothing can be uploaded to or downloaded from the
    /// Pulsar host but what the messages carry.
    func prepare(_ job: BackendJob, logger: Logger) async throws {
        let routed = Set(staging.routes(of: job).map(\.index))
        for (index, input) in (job.task.inputs ?? []).enumerated() where input.content?.isEmpty ?? true {
            if !routed.contains(index) {
                throw TaskFailure(
                    "inputs[\(index)]: Pulsar '\(name)' is reached through a message queue, so this input must be one the Pulsar host "
                        + "fetches itself (a FILE input from http(s), ftp without a password, or S3 it may be handed a URL for; "
                        + "with server.public_url, any FILE input), and this one is not")
            }
        }
        let sent = staging.sentOutputs(of: job)
        for index in (job.task.outputs ?? []).indices where sent[index] == nil {
            throw TaskFailure(
                "outputs[\(index)]: Pulsar '\(name)' is reached through a message queue, so this output must be a FILE output "
                    + "the job can send from the Pulsar host itself (a URL it may write to), and this one is not")
        }
    }

    func submit(_ job: BackendJob, logger: Logger) async throws -> [String: String] {
        if known.withLock({ $0[job.jobID]?.status }) != nil {
            logger.info("Pulsar already has the job; not submitting it again")
            return [:]
        }
        let files = QueuedJobFiles(name: name)
        let placed = try await staging.stageIn(job, on: files, logger: logger)
        var script = JobScript(
            taskID: job.taskID,
            task: job.task,
            runtime: settings.runtime,
            inputsDirectory: nil,
            inputs: placed,
            sentOutputs: staging.sentOutputs(of: job),
            heartbeatSeconds: Int(settings.heartbeatInterval.components.seconds)
        )
        script.reportsOnStdout = true
        let launch = PulsarLaunch(
            jobID: job.jobID,
            commandLine: "bash " + ShellQuote.quote("__PULSAR_JOB_DIRECTORY__/configs/" + PulsarRESTBackend.jobScriptName),
            files: files.files + [.init(name: PulsarRESTBackend.jobScriptName, type: .config, contents: script.render())],
            remoteInputs: staging.remoteInputs(of: job).map(\.input)
        )
        // A second setup message for the same job (a retry after a lost confirm, a restart) is ignored by Pulsar.
        try await call("submission of the Pulsar job") { try await queue.launch(launch) }
        let now = clock.now
        known.withLock { $0[job.jobID] = $0[job.jobID] ?? Known(status: nil, heard: now, asked: now) }
        logger.info("Sent the job to Pulsar through the message queue")
        return [:]
    }

    // MARK: Follow

    func state(of job: BackendJob, logger: Logger) async throws -> BackendJobState {
        let now = clock.now
        let interval = settings.statusRequestInterval
        // Nothing known (a TESP restart) or asked to ask again (Pulsar reconnected): ask now; else ask only a job
        // not heard of for an interval.
        let (current, ask) = known.withLock { known -> (Known, Bool) in
            var entry = known[job.jobID] ?? Known(status: nil, heard: now, asked: nil)
            let ask = entry.asked.map { now.since($0) >= interval && now.since(entry.heard) >= interval } ?? true
            if ask {
                entry.asked = now
                entry.unansweredSince = entry.unansweredSince ?? now
            }
            known[job.jobID] = entry
            return (entry, ask)
        }
        if ask {
            try await inBackendTerms { try await queue.requestStatus(jobID: job.jobID) }
        }
        if let since = current.unansweredSince, now.since(since) > settings.answerTimeout {
            throw BackendError(.unavailable, "Pulsar '\(name)' has not answered a status request about the job for \(now.since(since))")
        }
        return current.status?.backendState(on: name) ?? .queued
    }

    // MARK: Collect

    func collect(_ job: BackendJob, logger: Logger) async throws -> JobOutcome {
        guard let status = known.withLock({ $0[job.jobID]?.status }), status.isFinished else {
            return .systemError("Pulsar '\(name)' said the job ended, then nothing more about it", executors: [])
        }
        if let outcome = PulsarJobOutcome.unexpectedEnd(status, on: name) { return outcome }
        let report = JobReport(parsing: status.jobStdout)
        return try await PulsarJobOutcome.of(
            job, status: status, records: Self.records(in: report), on: name,
            staging: staging, files: QueuedJobFiles(name: name, report: report),
            noRecords: "the job ended without reporting its executors (its stdout, which Pulsar's status carries, has no report: is "
                + "Pulsar's maximum_stream_size set?)",
            logger: logger)
    }

    // MARK: Cancel and clean

    /// Sends `kill` and waits, up to ``Settings/answerTimeout``, for Pulsar to say the job ended. Pulsar 0.16
    /// publishes nothing when a job it killed ends, so the backend asks for the status every couple of seconds.
    /// - Returns: what the executors recorded, if the job reported before it stopped.
    /// - Throws: ``TaskFailure`` when Pulsar does not say so in time (the task is canceled, with a line that says
    ///   the job may still be running).
    func cancel(_ job: BackendJob, logger: Logger) async throws -> [TESExecutorLog] {
        try await call("cancel of the Pulsar job") { try await queue.kill(jobID: job.jobID) }
        let deadline = clock.now.adding(settings.answerTimeout)
        var nextRequest = clock.now
        while true {
            if let status = known.withLock({ $0[job.jobID]?.status }), status.isFinished {
                return Self.records(in: JobReport(parsing: status.jobStdout))?.executorLogs ?? []
            }
            if clock.now >= deadline {
                throw TaskFailure("Pulsar '\(name)' did not say the job stopped within \(settings.answerTimeout) of the kill")
            }
            if clock.now >= nextRequest {
                nextRequest = clock.now.adding(Self.cancelStatusInterval)
                try? await queue.requestStatus(jobID: job.jobID)
            }
            try await clock.sleep(for: .milliseconds(250))
        }
    }

    static let cancelStatusInterval = Duration.seconds(2)

    /// The executor records a job reported, if it did.
    static func records(in report: JobReport) -> JobRecords? {
        report.files[JobScript.recordsPath].map { JobRecords(parsing: Data($0.utf8)) }
    }

    /// Forgets the job. Pulsar 0.16 has no message that removes a job's directory; the job script removed the
    /// task's files as it ended, and Pulsar's own small files stay for its operator.
    func clean(_ job: BackendJob, logger: Logger) async throws {
        _ = known.withLock { $0.removeValue(forKey: job.jobID) }
        changes.withLock { $0.removeValue(forKey: job.jobID) }?.fire()
    }

    /// Whether a Pulsar consumes the setup queue. When one appears after none (Pulsar restarted, or the broker
    /// came back), every job this process follows is asked for its status again.
    func health() async throws -> String {
        let now = clock.now
        let oldest = known.withLock { known in known.values.compactMap(\.unansweredSince).min() }
        // The update lag that matters: how long the oldest status request has waited for Pulsar's answer.
        Gauge(label: "tesp_queue_unanswered_seconds", dimensions: [("backend", name)])
            .record(oldest.map { Double(now.since($0).components.seconds) } ?? 0)
        let consumers: Int
        do {
            consumers = try await queue.setupConsumers()
        } catch {
            lastConsumers.withLock { $0 = nil }
            throw error
        }
        let before = lastConsumers.withLock { last -> Int? in
            defer { last = consumers }
            return last
        }
        guard consumers > 0 else {
            throw BackendError(.unavailable, "no Pulsar consumes the queue of '\(name)' on the broker")
        }
        if before == 0 || before == nil {
            // Ask again at the next follow of each job.
            known.withLock { known in
                for key in known.keys { known[key]?.asked = nil }
            }
        }
        return "Pulsar through a message queue (\(consumers) consumer\(consumers == 1 ? "" : "s"))"
    }

    // MARK: Calls

    private func call<T: Sendable>(_ what: String, _ body: () async throws -> T) async throws -> T {
        try await settings.retry.runPulsar(what, clock: clock, logger: logger, body)
    }
}
