import Synchronization

/// The configured backends by name, with what the settings say about each and whether it answered its last
/// health checks (``BackendHealthChecker`` keeps that up to date; until a first check, a backend counts as up).
public final class BackendRegistry: Sendable {
    public struct Entry: Sendable {
        public var backend: any ComputeBackend
        public var description: BackendDescription

        public init(backend: any ComputeBackend, description: BackendDescription) {
            self.backend = backend
            self.description = description
        }
    }

    /// In the order of the settings.
    public let entries: [Entry]
    private let down = Mutex<[String: String]>([:])
    private let rateLimiters: [String: RateLimiter]

    /// - Parameter statusCallsPerSecond: the most status calls a second to each backend (0: no limit).
    public init(_ entries: [Entry], statusCallsPerSecond: Double = 0, clock: any EngineClock = SystemClock()) {
        self.entries = entries
        self.rateLimiters = Dictionary(
            entries.map { ($0.description.name, RateLimiter(perSecond: statusCallsPerSecond, clock: clock)) },
            uniquingKeysWith: { first, _ in first }
        )
    }

    /// What spaces the status calls to `name`.
    func rateLimit(for name: String) -> RateLimiter {
        rateLimiters[name] ?? RateLimiter(perSecond: 0, clock: SystemClock())
    }

    public var descriptions: [BackendDescription] { entries.map(\.description) }

    public func backend(named name: String) -> (any ComputeBackend)? {
        entries.first { $0.description.name == name }?.backend
    }

    /// Whether `name` is configured and answered its last health check.
    public func isAvailable(_ name: String) -> Bool {
        backend(named: name) != nil && down.withLock { $0[name] == nil }
    }

    /// Backends that did not answer their last check, with why.
    public var unavailable: [String: String] { down.withLock { $0 } }

    func record(_ name: String, failure: String?) {
        down.withLock { down in
            if let failure { down[name] = failure } else { down[name] = nil }
        }
    }
}
