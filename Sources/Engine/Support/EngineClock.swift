import Foundation

/// The engine's time: the wall clock for what is stored and compared across restarts (start and end times, time
/// limits, grace periods), and sleeps. Tests pass a clock they move by hand, so that what the engine decides after
/// ten minutes is tested in milliseconds.
public protocol EngineClock: Sendable {
    var now: Date { get }
    /// Sleeps for `duration` of this clock's time. - Throws: `CancellationError` if the task is cancelled.
    func sleep(for duration: Duration) async throws
}

/// Real time.
public struct SystemClock: EngineClock {
    public init() {}
    public var now: Date { Date() }
    public func sleep(for duration: Duration) async throws { try await Task.sleep(for: duration) }
}

extension Date {
    /// The time from `earlier` to this date, as a `Duration`.
    func since(_ earlier: Date) -> Duration { .milliseconds(Int64((timeIntervalSince(earlier) * 1000).rounded())) }

    func adding(_ duration: Duration) -> Date {
        let (seconds, attoseconds) = duration.components
        return addingTimeInterval(Double(seconds) + Double(attoseconds) / 1e18)
    }
}
