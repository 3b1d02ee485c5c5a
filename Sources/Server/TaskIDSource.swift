import Foundation
import Synchronization
import TES

/// Hands out task ids: the time-ordered ids of ``TESTaskIDGenerator``, shared by all request handlers.
final class TaskIDSource: Sendable {
    private let generator = Mutex(TESTaskIDGenerator())

    /// A new id for a task created at `date`.
    func next(at date: Date) -> String {
        let milliseconds = UInt64(max(0, date.timeIntervalSince1970 * 1000))
        return generator.withLock { generator in
            generator.next(milliseconds: milliseconds) {
                var rng = SystemRandomNumberGenerator()
                return (UInt16.random(in: .min ... .max, using: &rng), UInt64.random(in: .min ... .max, using: &rng))
            }
        }
    }
}
