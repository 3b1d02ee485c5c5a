extension TESState {
    /// Every move the server may make. Terminal states have no entry, so they refuse every move.
    /// QUEUED may go straight to CANCELED because nothing was started yet: there is nothing to clean up.
    private static let allowed: [TESState: Set<TESState>] = [
        .queued: [.initializing, .canceling, .canceled, .systemError],
        // INITIALIZING may go back to QUEUED: a task placed on a backend that went down before the job was submitted
        // is placed again.
        .initializing: [.queued, .running, .canceling, .systemError],
        .running: [.complete, .executorError, .systemError, .canceling, .paused, .preempted],
        .paused: [.running, .canceling, .systemError],
        .canceling: [.canceled],
    ]

    /// Whether the state machine allows moving from `self` to `next`.
    public func canMove(to next: TESState) -> Bool {
        Self.allowed[self]?.contains(next) ?? false
    }

    /// The state a cancel request moves a task to, or `nil` when cancel leaves it as it is
    /// (already terminal, or already being canceled).
    public var stateAfterCancel: TESState? {
        switch self {
        case .queued: .canceled
        case .initializing, .running, .paused: .canceling
        default: nil
        }
    }
}

/// A state change the state machine does not allow.
public struct TESTransitionError: Error, Sendable, Equatable, CustomStringConvertible {
    public let from: TESState
    public let to: TESState

    public init(from: TESState, to: TESState) {
        self.from = from
        self.to = to
    }

    public var description: String { "invalid state transition from \(from.rawValue) to \(to.rawValue)" }
}
