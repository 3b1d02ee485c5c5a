import Foundation
import Synchronization

@testable import Engine

/// A clock the test moves: `sleep` returns only when `advance` has passed its deadline (or the task is cancelled).
final class TestClock: EngineClock {
    private struct Sleeper {
        var deadline: Date
        var continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var now = Date(timeIntervalSince1970: 1_800_000_000)
        var sleepers: [UInt64: Sleeper] = [:]
        var next: UInt64 = 0
    }

    private let state = Mutex(State())

    var now: Date { state.withLock { $0.now } }

    func sleep(for duration: Duration) async throws {
        try Task.checkCancellation()
        if duration <= .zero { return }
        let id = state.withLock { state in
            state.next += 1
            return state.next
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let cancelled = state.withLock { state -> Bool in
                    if Task.isCancelled { return true }
                    state.sleepers[id] = Sleeper(deadline: state.now.adding(duration), continuation: continuation)
                    return false
                }
                if cancelled { continuation.resume(throwing: CancellationError()) }
            }
        } onCancel: {
            state.withLock { $0.sleepers.removeValue(forKey: id) }?.continuation.resume(throwing: CancellationError())
        }
    }

    /// Moves time on by `duration`, waking every sleeper whose deadline has come.
    func advance(by duration: Duration) {
        let due = state.withLock { state -> [Sleeper] in
            state.now = state.now.adding(duration)
            let now = state.now
            let due = state.sleepers.filter { $0.value.deadline <= now }
            for key in due.keys { state.sleepers.removeValue(forKey: key) }
            return Array(due.values)
        }
        for sleeper in due { sleeper.continuation.resume() }
    }
}

/// Moves `clock` on in `step`s, letting the engine run between them, until `condition` holds.
/// - Returns: whether it held within `steps` steps (the test fails otherwise).
@discardableResult
func advance(
    _ clock: TestClock,
    by step: Duration = .milliseconds(200),
    steps: Int = 3000,
    until condition: @Sendable () async throws -> Bool,
    sourceLocation: SourceLocation = #_sourceLocation
) async throws -> Bool {
    for _ in 0..<steps {
        if try await condition() { return true }
        clock.advance(by: step)
        try? await Task.sleep(for: .milliseconds(2))
    }
    if try await condition() { return true }
    Issue.record("the condition did not hold after \(steps) steps of \(step)", sourceLocation: sourceLocation)
    return false
}

import Testing
