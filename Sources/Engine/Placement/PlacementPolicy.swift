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
    /// Where most of the task's input bytes are near (the backend's `near` hosts; sizes from HEAD/SIZE, 1 byte
    /// when the server does not say); ties, and tasks with nothing near, go by least-loaded.
    case dataLocality = "data-locality"
}

/// What a policy may know about the task besides the candidates: its input bytes by storage host.
struct PlacementContext: Sendable, Equatable {
    var inputBytesByHost: [String: Int64] = [:]
}

/// A backend that can take the task now, with its jobs in flight.
struct PlacementCandidate: Sendable, Equatable {
    var backend: BackendDescription
    var inFlight: Int
}

/// Chooses one of the candidates (never empty, in the order of the settings).
protocol PlacementPolicy: Sendable {
    func choose(among candidates: [PlacementCandidate], context: PlacementContext) -> PlacementCandidate
    /// Whether this policy reads ``PlacementContext/inputBytesByHost`` (asking servers for sizes costs calls).
    var needsInputSizes: Bool { get }
}

extension PlacementPolicy {
    var needsInputSizes: Bool { false }
}

struct LeastLoadedPolicy: PlacementPolicy {
    func choose(among candidates: [PlacementCandidate], context: PlacementContext) -> PlacementCandidate {
        // `min` keeps the first of equal elements: ties go to the first configured.
        candidates.min { $0.inFlight < $1.inFlight }!
    }
}

final class RoundRobinPolicy: PlacementPolicy {
    private let turn = Mutex(0)
    func choose(among candidates: [PlacementCandidate], context: PlacementContext) -> PlacementCandidate {
        let index = turn.withLock { turn in
            defer { turn &+= 1 }
            return turn
        }
        return candidates[index % candidates.count]
    }
}

struct FitFirstPolicy: PlacementPolicy {
    func choose(among candidates: [PlacementCandidate], context: PlacementContext) -> PlacementCandidate { candidates[0] }
}

struct DataLocalityPolicy: PlacementPolicy {
    var needsInputSizes: Bool { true }

    func choose(among candidates: [PlacementCandidate], context: PlacementContext) -> PlacementCandidate {
        func nearBytes(_ candidate: PlacementCandidate) -> Int64 {
            Set(candidate.backend.near.map { $0.lowercased() }).reduce(0) { $0 + context.inputBytesByHost[$1, default: 0] }
        }
        let best = candidates.map(nearBytes).max() ?? 0
        return LeastLoadedPolicy().choose(among: candidates.filter { nearBytes($0) == best }, context: context)
    }
}

extension PlacementPolicyKind {
    func makePolicy() -> any PlacementPolicy {
        switch self {
        case .leastLoaded: LeastLoadedPolicy()
        case .roundRobin: RoundRobinPolicy()
        case .fitFirst: FitFirstPolicy()
        case .dataLocality: DataLocalityPolicy()
        }
    }
}
