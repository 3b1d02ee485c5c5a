import Foundation
import Logging
import NIOCore
import JobScript
import Pulsar
import Synchronization
import Transfer
import TES

/// A Pulsar server over its REST API as a ``ComputeBackend``: the task becomes a job script (``JobScript``) that
/// runs the executors in the configured container runtime; files are staged by `staging`.
final class PulsarRESTBackend: ComputeBackend {
    static let jobScriptName = "tesp-job.sh"
    /// The records file can hold 64 KiB of stdout and stderr per executor.
    static let maxRecordsBytes = 256 * 1024 * 1024

    /// What the backend needs besides the Pulsar client.
    struct Settings: Sendable {
        var runtime: ContainerRuntime
        var heartbeatInterval: Duration
        var heartbeatTimeout: Duration
        var retry: RetryPolicy
    }

    let pulsar: any PulsarJobs
    let staging: any PulsarStaging
    private let settings: Settings
    private let clock: any EngineClock
    /// One watch per job seen running, until it is cleaned.
    private let heartbeats = Mutex<[String: HeartbeatWatch]>([:])

    var name: String { pulsar.name }

    init(pulsar: any PulsarJobs, staging: any PulsarStaging, settings: Settings, clock: any EngineClock) {
        self.pulsar = pulsar
        self.staging = staging
        self.settings = settings
        self.clock = clock
    }

    // MARK: Prepare (set up, stage in) and submit

    func prepare(_ job: BackendJob, logger: Logger) async throws {
        let directories = try await call("set-up of the Pulsar job", logger: logger) { try await pulsar.setup(jobID: job.jobID) }
        let placed = try await staging.stageIn(job, on: pulsar, logger: logger)
        let script = JobScript(
            taskID: job.taskID,
            task: job.task,
            runtime: settings.runtime,
            inputsDirectory: directories.inputsDirectory,
            inputs: placed,
            sentOutputs: staging.sentOutputs(of: job),
            heartbeatSeconds: Int(settings.heartbeatInterval.components.seconds)
        )
        try await call("upload of the job script", logger: logger) {
            try await pulsar.upload(jobID: job.jobID, name: Self.jobScriptName, type: .config, contents: ByteBuffer(string: script.render()))
        }
    }

    func submit(_ job: BackendJob, logger: Logger) async throws -> [String: String] {
        let existing = try await call("status of the Pulsar job", logger: logger) { try await pulsar.status(jobID: job.jobID) }
        switch existing.state {
        case .preprocessing:
            break
        case .lost:
            throw TaskFailure("Pulsar '\(name)' lost the job before it was submitted")
        default:
            // A restart after the submit: a job is never submitted twice.
            logger.info("Pulsar already has the job; not submitting it again", metadata: ["pulsar.state": "\(existing.state)"])
            return [:]
        }
        // The configs directory is known to Pulsar from the set-up, which is idempotent for an existing job.
        let directories = try await call("set-up of the Pulsar job", logger: logger) { try await pulsar.setup(jobID: job.jobID) }
        let commandLine = "bash " + ShellQuote.quote(directories.configsDirectory + "/" + Self.jobScriptName)
        let remoteInputs = staging.remoteInputs(of: job).map(\.input)
        try await call("submission of the Pulsar job", logger: logger) {
            try await pulsar.submit(jobID: job.jobID, commandLine: commandLine, remoteInputs: remoteInputs)
        }
        logger.info("Submitted to Pulsar")
        return [:]
    }

    // MARK: Follow

    func state(of job: BackendJob, logger: Logger) async throws -> BackendJobState {
        let status = try await inBackendTerms { try await pulsar.status(jobID: job.jobID) }
        let state = status.backendState(on: name)
        guard state == .running, status.state == .running else { return state }
        return try await isAlive(job, logger: logger)
            ? .running
            : .lost("the job stopped on Pulsar '\(name)' without finishing: its processes are gone (was Pulsar restarted?)")
    }

    /// Whether the job script still beats, checked once per heartbeat interval (between checks: yes).
    /// - Throws: `CancellationError`: a download cut short by a shutdown says nothing about the job.
    private func isAlive(_ job: BackendJob, logger: Logger) async throws -> Bool {
        let now = clock.now
        let due = heartbeats.withLock { watches in
            guard var watch = watches[job.jobID] else {
                watches[job.jobID] = HeartbeatWatch(since: now)
                return false
            }
            defer { watches[job.jobID] = watch }
            return watch.isDue(every: settings.heartbeatInterval, now: now)
        }
        guard due else { return true }
        let beat = try? await pulsar.download(jobID: job.jobID, name: JobScript.heartbeatPath, type: .outputWorkdir, maxBytes: 64)
        try Task.checkCancellation()
        let value = beat.map { String(buffer: $0) }
        return heartbeats.withLock { watches in
            guard var watch = watches[job.jobID] else { return true }
            defer { watches[job.jobID] = watch }
            return !watch.isDead(seen: value, timeout: settings.heartbeatTimeout, now: clock.now)
        }
    }

    // MARK: Collect and stage out

    func collect(_ job: BackendJob, logger: Logger) async throws -> JobOutcome {
        let status = try await call("status of the Pulsar job", logger: logger) { try await pulsar.status(jobID: job.jobID) }
        if let outcome = PulsarJobOutcome.unexpectedEnd(status, on: name) { return outcome }
        return try await PulsarJobOutcome.of(
            job, status: status, records: try await downloadRecords(job, logger: logger), on: name, staging: staging, files: pulsar,
            noRecords: "the job ended without recording its executors", logger: logger)
    }

    /// Pulsar 0.16 writes each job's command file and executes it while other threads fork for other jobs; under
    /// load a fork may still hold the file open for writing, and the exec fails with "Text file busy" (exit code
    /// 126) before the job script runs. Only that: a script that ran and failed is never started again.
    static func couldNotStart(_ status: PulsarJobStatus, records: JobRecords?) -> Bool {
        records == nil && status.returnCode == 126 && status.jobStderr.contains("Text file busy")
    }

    /// The executor records of the job, or `nil` if there are none (a job that never started has no file, and
    /// Pulsar answers 500 for a missing file, so only an unreachable server is retried).
    /// - Throws: `CancellationError` only: records missing because of a shutdown must not decide the outcome.
    private func downloadRecords(_ job: BackendJob, logger: Logger) async throws -> JobRecords? {
        do {
            let buffer = try await call("download of the executor records", retryServerErrors: false, logger: logger) {
                try await pulsar.download(jobID: job.jobID, name: JobScript.recordsPath, type: .outputWorkdir, maxBytes: Self.maxRecordsBytes)
            }
            return JobRecords(parsing: Data(buffer: buffer))
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            logger.warning("Executor records unavailable", metadata: ["error": "\(error)"])
            return nil
        }
    }

    // MARK: Cancel and clean

    func cancel(_ job: BackendJob, logger: Logger) async throws -> [TESExecutorLog] {
        try await call("cancel of the Pulsar job", logger: logger) { try await pulsar.cancel(jobID: job.jobID) }
        return try await downloadRecords(job, logger: logger)?.executorLogs ?? []
    }

    func clean(_ job: BackendJob, logger: Logger) async throws {
        _ = heartbeats.withLock { $0.removeValue(forKey: job.jobID) }
        try await inBackendTerms { try await pulsar.clean(jobID: job.jobID) }
    }

    func health() async throws -> String { try await pulsar.health() }

    // MARK: Calls

    /// A Pulsar call under the retry policy. - Throws: ``TaskFailure`` naming `what`.
    private func call<T: Sendable>(
        _ what: String,
        retryServerErrors: Bool = true,
        logger: Logger,
        _ body: () async throws -> T
    ) async throws -> T {
        try await settings.retry.runPulsar(what, retryServerErrors: retryServerErrors, clock: clock, logger: logger, body)
    }

    static func backendError(_ error: PulsarError, retryServerErrors: Bool) -> BackendError {
        switch error.code {
        case .unreachable: BackendError(.unavailable, error.description)
        case .busy: BackendError(.busy, error.description)
        case .serverError where retryServerErrors: BackendError(.unavailable, error.description)
        default: BackendError(.failed, error.description)
        }
    }
}
