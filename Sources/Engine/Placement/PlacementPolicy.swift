import Synchronization

/// How a backend is chosen among those that can take a task now.
public enum PlacementPolicyKind: String, Sendable, CaseIterable, Codable {
    /// The one with the fewest jobs in flight, counted from the store (so the count survives restarts and is
    /// shared by every TESP process on the same database); ties go to the first in the settings.
    case leastLoaded = "least-loaded"
    /// Each in turn, in the order of the settings (this process's turn, not shared).
    case roundRobin = "round-robin"
    /// The first in the settings that fits: fill one site before the next.
    case fitFirst = "fit-first"
}

/// A backend that can take the task now, with its jobs in flight.
struct PlacementCandidate: Sendable, Equatable {
    var backend: BackendDescription
    var inFlight: Int
}

/// Chooses one of the candidates (never empty, in the order of the settings).
protocol PlacementPolicy: Sendable {
    func choose(among candidates: [PlacementCandidate]) -> PlacementCandidate
}

struct LeastLoadedPolicy: PlacementPolicy {
    func choose(among candidates: [PlacementCandidate]) -> PlacementCandidate {
        // `min` keeps the first of equal elements: ties go to the first configured.
        candidates.min { $0.inFlight < $1.inFlight }!
    }
}

final class RoundRobinPolicy: PlacementPolicy {
    private let turn = Mutex(0)
    func choose(among candidates: [PlacementCandidate]) -> PlacementCandidate {
        let index = turn.withLock { turn in
            defer { turn &+= 1 }
            return turn
        }
        return candidates[index % candidates.count]
    }
}

struct FitFirstPolicy: PlacementPolicy {
    func choose(among candidates: [PlacementCandidate]) -> PlacementCandidate { candidates[0] }
}

extension PlacementPolicyKind {
    func makePolicy() -> any PlacementPolicy {
        switch self {
        case .leastLoaded: LeastLoadedPolicy()
        case .roundRobin: RoundRobinPolicy()
        case .fitFirst: FitFirstPolicy()
        }
    }
}
