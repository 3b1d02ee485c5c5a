import Synchronization

/// An event that happens at most once (a user's cancel), which any number of tasks can wait for.
///
/// Waiting ends when the signal fires, when the time is up, or when the waiting task is cancelled (engine
/// shutdown), and the caller can tell the first from the others.
public final class OneShotSignal: Sendable {
    private struct State {
        var fired = false
        var waiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
        var nextID: UInt64 = 0
    }

    private let state = Mutex(State())

    public var isFired: Bool { state.withLock { $0.fired } }

    public func fire() {
        let waiters = state.withLock { state in
            state.fired = true
            defer { state.waiters = [:] }
            return state.waiters
        }
        for waiter in waiters.values { waiter.resume() }
    }

    public init() {}

    /// Waits up to `duration` of `clock`'s time, or until `other` fires. - Returns: whether this signal fired.
    func wait(upTo duration: Duration, clock: any EngineClock = SystemClock(), orUntil other: OneShotSignal? = nil) async -> Bool {
        if isFired { return true }
        if other?.isFired == true { return false }
        return await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                try? await clock.sleep(for: duration)
                return false
            }
            group.addTask {
                await self.waitUntilFired()
                return self.isFired
            }
            if let other {
                group.addTask {
                    await other.waitUntilFired()
                    return self.isFired
                }
            }
            let first = await group.next() ?? false
            group.cancelAll()
            return first || isFired
        }
    }

    /// Waits until the signal fires or the waiting task is cancelled.
    func wait() async { await waitUntilFired() }

    private func waitUntilFired() async {
        let id: UInt64? = state.withLock { state in
            if state.fired { return nil }
            state.nextID += 1
            return state.nextID
        }
        guard let id else { return }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state -> Bool in
                    if state.fired || Task.isCancelled { return true }
                    state.waiters[id] = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            state.withLock { $0.waiters.removeValue(forKey: id) }?.resume()
        }
    }
}
