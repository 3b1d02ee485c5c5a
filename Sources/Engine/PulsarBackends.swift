import Pulsar
import Synchronization

/// The configured Pulsar servers, and which one gets the next task: the one with the fewest tasks in flight
/// from this engine (ties go to the first configured), so load spreads without any shared state.
final class PulsarBackends: Sendable {
    let all: [any PulsarJobs]
    private let load: Mutex<[String: Int]>

    init(_ backends: [any PulsarJobs]) {
        self.all = backends
        self.load = Mutex(Dictionary(backends.map { ($0.name, 0) }, uniquingKeysWith: { first, _ in first }))
    }

    /// The backend called `name`, if it is still configured.
    func named(_ name: String) -> (any PulsarJobs)? {
        all.first { $0.name == name }
    }

    /// The least loaded backend.
    func leastLoaded() -> (any PulsarJobs)? {
        let counts = load.withLock { $0 }
        return all.min { counts[$0.name, default: 0] < counts[$1.name, default: 0] }
    }

    /// Counts a task in flight on `name` until `release` is called.
    func retain(_ name: String) { load.withLock { $0[name, default: 0] += 1 } }
    func release(_ name: String) { load.withLock { $0[name, default: 0] -= 1 } }
}
