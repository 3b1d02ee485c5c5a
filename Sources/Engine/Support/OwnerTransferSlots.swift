import Synchronization

/// How many transfers one task owner may have in flight at once, over all of the owner's tasks, so that one user
/// with many slow inputs cannot hold every transfer thread while the others' tasks wait (the threads themselves
/// are the global bound, in `Transfers`).
///
/// Tasks without an owner (no authentication configured) are not limited here: all of them are one anonymous user.
public final class OwnerTransferSlots: Sendable {
    private let perOwner: Int
    private let limiters = Mutex<[String: AsyncLimiter]>([:])

    /// - Parameter perOwner: transfers in flight per owner; 0 or less: no limit.
    public init(perOwner: Int) { self.perOwner = perOwner }

    /// Runs `body` when `owner` has a free slot.
    /// - Throws: `CancellationError` if the task is cancelled while it waits; whatever `body` throws.
    public func run<T: Sendable>(owner: String?, _ body: @Sendable () async throws -> T) async throws -> T {
        guard let owner, perOwner > 0 else { return try await body() }
        // One limiter per owner seen; owners are the configured or token-holding users, a bounded set.
        let limiter = limiters.withLock { limiters in
            if let existing = limiters[owner] { return existing }
            let made = AsyncLimiter(limit: perOwner)
            limiters[owner] = made
            return made
        }
        return try await limiter.run(body)
    }
}
