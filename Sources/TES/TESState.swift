/// The state of a task, as defined by TES 1.1 (`tesState`).
public enum TESState: String, Codable, Sendable, CaseIterable, Hashable {
    case unknown = "UNKNOWN"
    case queued = "QUEUED"
    case initializing = "INITIALIZING"
    case running = "RUNNING"
    case paused = "PAUSED"
    case complete = "COMPLETE"
    case executorError = "EXECUTOR_ERROR"
    case systemError = "SYSTEM_ERROR"
    case canceled = "CANCELED"
    case preempted = "PREEMPTED"
    case canceling = "CANCELING"

    /// States a task never leaves.
    public var isTerminal: Bool {
        switch self {
        case .complete, .executorError, .systemError, .canceled, .preempted: true
        default: false
        }
    }
}
