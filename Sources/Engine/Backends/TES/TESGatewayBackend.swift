import Client
import Logging
import TES
import Transfer

/// Another TES 1.1 server as a ``ComputeBackend`` (gateway mode, as proTES does it): the task is created there with
/// its URLs unchanged (credentials included: a remote server configured as a backend is trusted with them), its
/// state is followed, and its executor logs and outputs are copied into this task's logs. Cancel is forwarded.
///
/// The remote task carries the tag `tesp_task_id` with this task's id, so that a submit repeated after a crash
/// finds the task it made instead of making a second one; its id is kept in `logs[0].metadata.tesp_remote_id`.
struct TESGatewayBackend: ComputeBackend {
    static let remoteIDKey = "tesp_remote_id"
    static let originTag = "tesp_task_id"

    let name: String
    let remote: any RemoteTES
    let retry: RetryPolicy
    let clock: any EngineClock

    /// Nothing to stage: the remote server fetches the inputs and publishes the outputs itself.
    func prepare(_ job: BackendJob, logger: Logger) async throws {}

    func submit(_ job: BackendJob, logger: Logger) async throws -> [String: String] {
        if job.metadata[Self.remoteIDKey] != nil { return [:] }
        if let existing = try await call("search of the remote server for the task", logger: logger, {
            try await remote.ids(taggedWith: Self.originTag, job.taskID).first
        }) {
            logger.info("The remote server has the task already; not creating it again", metadata: ["tesp.remote.id": "\(existing)"])
            return [Self.remoteIDKey: existing]
        }
        let task = Self.remoteTask(for: job)
        let id = try await call("creation of the task on the remote server", logger: logger) { try await remote.create(task) }
        logger.info("Created on the remote TES server", metadata: ["tesp.remote.id": "\(id)"])
        return [Self.remoteIDKey: id]
    }

    /// What the remote server gets: the task as submitted, credentials back in its URLs, tagged with its origin.
    static func remoteTask(for job: BackendJob) -> TESTask {
        var task = TaskCredentials.restoring(job.task, from: job.secrets)
        task.id = nil
        task.state = nil
        task.logs = nil
        task.creationTime = nil
        task.tags = (task.tags ?? [:]).merging([originTag: job.taskID], uniquingKeysWith: { _, new in new })
        return task
    }

    func state(of job: BackendJob, logger: Logger) async throws -> BackendJobState {
        guard let id = job.metadata[Self.remoteIDKey] else { return .absent }
        let task: TESTask
        do {
            task = try await remote.get(id: id, view: .minimal)
        } catch let error as TESClientError where error.status == 404 {
            return .lost("the task is gone from the remote TES server '\(name)'")
        } catch let error as TESClientError {
            throw Self.backendError(error)
        }
        switch task.state ?? .unknown {
        case .queued, .initializing, .unknown: return .queued
        case .running, .paused, .canceling: return .running
        case .complete, .executorError, .systemError, .canceled, .preempted: return .finished
        }
    }

    func collect(_ job: BackendJob, logger: Logger) async throws -> JobOutcome {
        guard let id = job.metadata[Self.remoteIDKey] else { return .systemError("the task has no remote id", executors: []) }
        let task = try await call("download of the remote task", logger: logger) { try await remote.get(id: id, view: .full) }
        let log = task.logs?.last
        let executors = log?.logs ?? []
        switch task.state ?? .unknown {
        case .complete:
            return .complete(executors: executors, outputs: log?.outputs ?? [])
        case .executorError:
            return .executorError(executors: executors)
        case .canceled:
            return .systemError("the task was canceled on the remote TES server '\(name)', not by this server", executors: executors)
        default:
            let reason = log?.systemLogs?.last.map { ": \($0.prefix(2000))" } ?? ""
            return .systemError("the remote TES server '\(name)' ended the task \(task.state?.rawValue ?? "UNKNOWN")\(reason)", executors: executors)
        }
    }

    func cancel(_ job: BackendJob, logger: Logger) async throws -> [TESExecutorLog] {
        guard let id = job.metadata[Self.remoteIDKey] else { return [] }
        do {
            try await call("cancel of the remote task", logger: logger) { try await remote.cancel(id: id) }
        } catch let failure as TaskFailure where failure.description.contains("404") {
            return []
        }
        return (try? await remote.get(id: id, view: .full).logs?.last?.logs) ?? []
    }

    /// The remote server keeps its task: it is the record of what ran there.
    func clean(_ job: BackendJob, logger: Logger) async throws {}

    func health() async throws -> String {
        do {
            let info = try await remote.serviceInfo()
            return "\(info.name) \(info.version)"
        } catch let error as TESClientError {
            throw Self.backendError(error)
        }
    }

    private func call<T: Sendable>(_ what: String, logger: Logger, _ body: () async throws -> T) async throws -> T {
        try await retry.run(what, clock: clock, logger: logger) {
            do {
                return try await body()
            } catch let error as TESClientError {
                throw Self.backendError(error)
            }
        }
    }

    static func backendError(_ error: TESClientError) -> BackendError {
        guard let status = error.status else { return BackendError(.unavailable, error.description) }
        switch status {
        case 500...: return BackendError(.unavailable, error.description)
        case 429: return BackendError(.busy, error.description)
        default: return BackendError(.failed, error.description)
        }
    }
}
