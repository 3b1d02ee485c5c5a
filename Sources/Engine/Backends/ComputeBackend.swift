import Logging
import TES

/// Where tasks run: a Pulsar server, another TES server. The task runner knows TES states and this protocol only;
/// each kind of backend turns it into its own calls (and stages files the way it can).
///
/// The runner calls `prepare` (stage in), records that the job is being submitted, then `submit`: a task is placed
/// on another backend only if it was never submitted. Every call may be repeated after a crash or a retry: `submit`
/// of a job the backend already has does not start it again, `cancel` and `clean` of a finished or unknown job
/// succeed.
public protocol ComputeBackend: Sendable {
    /// The backend's name in the settings, stored with each task placed on it.
    var name: String { get }

    /// Creates the job and stages its inputs (as this backend does that), ready to be submitted. May be repeated
    /// until ``submit(_:logger:)`` is called. - Throws: ``TaskFailure`` naming the step.
    func prepare(_ job: BackendJob, logger: Logger) async throws

    /// Starts the prepared job, unless the backend already has it (a restart after the submit).
    /// - Returns: what must be kept with the task to find the job again (a remote task's id), put in
    ///   `logs[0].metadata`. - Throws: ``TaskFailure``; a job the backend lost meanwhile is a failure too.
    func submit(_ job: BackendJob, logger: Logger) async throws -> [String: String]

    /// Where the job is now. Called repeatedly while the task runs; the engine spaces the calls.
    func state(of job: BackendJob, logger: Logger) async throws -> BackendJobState

    /// After ``BackendJobState/finished``: how the job ended, with the executors' logs, and with the outputs
    /// published (staged out) when every executor succeeded.
    func collect(_ job: BackendJob, logger: Logger) async throws -> JobOutcome

    /// Stops the job's processes. - Returns: what the executors recorded until then.
    func cancel(_ job: BackendJob, logger: Logger) async throws -> [TESExecutorLog]

    /// Removes what the job left on the backend.
    func clean(_ job: BackendJob, logger: Logger) async throws

    /// A short description of the backend (its version) when it answers. - Throws: when it does not.
    func health() async throws -> String

    /// For a backend that is told of its jobs' changes (Pulsar over a message queue): a signal that fires at the
    /// job's next change, so that the runner looks at once instead of on its next poll, and polls only every
    /// ``pushedPollInterval``. `nil` (the default): the runner polls as usual.
    func nextChange(of job: BackendJob) -> OneShotSignal?
}

extension ComputeBackend {
    public func nextChange(of job: BackendJob) -> OneShotSignal? { nil }
}

/// How often the runner still calls ``ComputeBackend/state(of:logger:)`` for a job whose changes are pushed: the
/// backend's safety nets (asking a silent job again, noticing an unanswered request) run from those calls.
let pushedPollInterval = Duration.seconds(60)

/// One task as a backend sees it.
public struct BackendJob: Sendable {
    public var taskID: String
    /// The job's name on the backend: the task's id, prefixed so that operators can tell TESP's jobs apart.
    public var jobID: String
    /// The task (FULL view; inline input content only until the job has started).
    public var task: TESTask
    public var secrets: [String: String]
    public var owner: String?
    /// The task's `logs[0].metadata`, with what ``ComputeBackend/submit(_:logger:)`` returned.
    public var metadata: [String: String]
    /// Which start of the task this job is: 1, or more after the backend could not start the earlier jobs
    /// (``JobOutcome/notStarted(_:)``); kept in `logs[0].metadata` under ``metadataAttempt``.
    public var attempt: Int

    /// The `logs[0].metadata` key of ``attempt`` (absent: 1).
    public static let metadataAttempt = "tesp_job_attempt"

    public init(task: TESTask, secrets: [String: String] = [:], owner: String? = nil, metadata: [String: String] = [:]) {
        self.taskID = task.id ?? ""
        self.attempt = metadata[Self.metadataAttempt].flatMap(Int.init) ?? 1
        self.jobID = Self.jobID(for: task.id ?? "", attempt: attempt)
        self.task = task
        self.secrets = secrets
        self.owner = owner
        self.metadata = metadata
    }

    /// `tesp-<task id>`, and `tesp-<task id>-<attempt>` for a job started again.
    public static func jobID(for taskID: String, attempt: Int = 1) -> String {
        attempt > 1 ? "tesp-\(taskID)-\(attempt)" : "tesp-\(taskID)"
    }
}

/// A job's progress, in terms every backend can give.
public enum BackendJobState: Sendable, Equatable {
    /// The backend has no such job (never submitted, or cleaned).
    case absent
    /// Accepted, waiting for the backend's resources: the task stays INITIALIZING.
    case queued
    /// The first executor has started: the task is RUNNING.
    case running
    /// Ended; ``ComputeBackend/collect(_:logger:)`` tells how.
    case finished
    /// Gone without finishing (killed outside TESP, its processes died): a system error, with the reason.
    case lost(String)
}

/// How a job ended.
public enum JobOutcome: Sendable, Equatable {
    case complete(executors: [TESExecutorLog], outputs: [TESOutputFileLog])
    case executorError(executors: [TESExecutorLog])
    /// Something outside the executors' own commands failed: the message names the step.
    case systemError(String, executors: [TESExecutorLog])
    /// The backend could not start the job at all, and nothing of it ran (Pulsar's "Text file busy" race when it
    /// launches many jobs at once): the runner starts it again as a new job, a few times, before it is a system
    /// error with this message.
    case notStarted(String)
}

/// A backend call that failed.
public struct BackendError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// The backend did not answer, or answered 5xx: retried within the engine's grace period.
        case unavailable
        /// TESP's own limit (its HTTP connection pool): retried with no limit, never the task's fault.
        case busy
        /// Refused for good (a bad token, a rejected request): retrying will not help.
        case failed
    }

    public var kind: Kind
    public var description: String

    public init(_ kind: Kind, _ description: String) {
        self.kind = kind
        self.description = description
    }
}
