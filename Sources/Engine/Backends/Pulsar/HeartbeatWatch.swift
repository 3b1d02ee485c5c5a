import Foundation

/// Tells a live job from a dead one by whether its heartbeat file changes, on this server's clock only (the
/// Pulsar host's clock may differ).
///
/// The watch starts when the job is first seen running, not when it was submitted: a job that waited an hour in
/// Pulsar's queue has had no chance to beat yet.
struct HeartbeatWatch: Sendable {
    private var lastValue: String?
    private var lastChange: Date
    private var lastCheck: Date

    /// The first check is due one interval after `start`: the job script writes the file as it starts, and asking
    /// Pulsar for a file that is not there yet makes it log a 500 with the request's URL, private token included.
    init(since start: Date) {
        lastChange = start
        lastCheck = start
    }

    mutating func isDue(every interval: Duration, now: Date) -> Bool {
        if now.since(lastCheck) < interval { return false }
        lastCheck = now
        return true
    }

    /// Records what the heartbeat file holds now (`nil`: could not be read).
    /// - Returns: whether it has not changed for longer than `timeout`.
    mutating func isDead(seen value: String?, timeout: Duration, now: Date) -> Bool {
        if let value, value != lastValue {
            lastValue = value
            lastChange = now
            return false
        }
        return now.since(lastChange) > timeout
    }
}
