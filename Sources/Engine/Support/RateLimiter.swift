import Foundation
import Synchronization

/// At most `perSecond` calls a second, spaced evenly, however many callers there are: the ceiling on status
/// calls to one backend, which holds at 10 tasks and at 10,000.
final class RateLimiter: Sendable {
    private let spacing: Duration
    private let clock: any EngineClock
    private let nextFree: Mutex<Date>

    /// - Parameter perSecond: 0 or less: no limit.
    init(perSecond: Double, clock: any EngineClock) {
        spacing = perSecond > 0 ? .milliseconds(Int64((1000 / perSecond).rounded(.up))) : .zero
        self.clock = clock
        nextFree = Mutex(.distantPast)
    }

    /// Waits for this caller's turn. - Throws: `CancellationError`.
    func wait() async throws {
        guard spacing > .zero else { return }
        let now = clock.now
        // Each caller takes the next free slot; the wait is the time until it.
        let slot = nextFree.withLock { next in
            let slot = max(next, now)
            next = slot.adding(spacing)
            return slot
        }
        let wait = slot.since(now)
        if wait > .zero { try await clock.sleep(for: wait) }
    }
}
