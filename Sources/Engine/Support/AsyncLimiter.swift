/// At most `limit` operations at once; the others wait their turn in order.
///
/// A waiter whose task is cancelled leaves the line at once with `CancellationError` (a canceled TES task waiting
/// for a transfer slot must not wait for the slot first).
public actor AsyncLimiter {
    private let limit: Int
    private var running = 0
    private var waiting: [(ticket: UInt64, continuation: CheckedContinuation<Void, any Error>)] = []
    private var nextTicket: UInt64 = 0

    public init(limit: Int) { self.limit = max(1, limit) }

    /// Runs `body` when a place is free.
    /// - Throws: `CancellationError` if the calling task is cancelled while it waits; whatever `body` throws.
    public func run<T: Sendable>(_ body: @Sendable () async throws -> T) async throws -> T {
        try await acquire()
        defer { release() }
        return try await body()
    }

    /// Operations running now (for tests and metrics).
    public var inUse: Int { running }

    /// Operations waiting for a place.
    public var queued: Int { waiting.count }

    private func acquire() async throws {
        try Task.checkCancellation()
        if running < limit {
            running += 1
            return
        }
        let ticket = nextTicket
        nextTicket += 1
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                // The handler below may have run before this line was reached; then there is nothing to wait for.
                if Task.isCancelled {
                    continuation.resume(throwing: CancellationError())
                } else {
                    waiting.append((ticket, continuation))
                }
            }
        } onCancel: {
            Task { await self.leaveLine(ticket) }
        }
    }

    private func leaveLine(_ ticket: UInt64) {
        guard let index = waiting.firstIndex(where: { $0.ticket == ticket }) else { return }  // it got its place first
        waiting.remove(at: index).continuation.resume(throwing: CancellationError())
    }

    private func release() {
        if waiting.isEmpty {
            running -= 1
        } else {
            waiting.removeFirst().continuation.resume()  // the place passes straight to the next in line
        }
    }
}
