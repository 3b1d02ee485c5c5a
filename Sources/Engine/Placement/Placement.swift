import TES

/// Where a task may run, and where it goes now: the backends its `backend_parameters` and resources allow, then
/// those that are up and have room (admission, `max_jobs`), then the policy's choice among them.
struct Placement: Sendable {
    /// `backend_parameters` key that pins a task to one backend by name.
    static let backendKey = "tesp_backend"
    /// `backend_parameters` key prefix that asks for a label: `tesp_label_site=a`.
    static let labelPrefix = "tesp_label_"

    /// The decision for one task.
    enum Decision: Sendable, Equatable {
        case place(on: String)
        /// Every backend that fits is full or down: the task waits QUEUED.
        case wait
        /// No configured backend can ever run it (the reason says why).
        case never(String)
    }

    let backends: [BackendDescription]
    let policy: any PlacementPolicy

    init(backends: [BackendDescription], policy: any PlacementPolicy) {
        self.backends = backends
        self.policy = policy
    }

    /// The `backend_parameters` keys placement reads, for service-info.
    static func parameterKeys(for backends: [BackendDescription]) -> [String] {
        [backendKey] + Set(backends.flatMap(\.labels.keys)).sorted().map { labelPrefix + $0 }
    }

    /// The backends that could run `task` at some time, in the order of the settings, or why there are none.
    func fitting(_ task: TESTask) -> Result<[BackendDescription], PlacementRefusal> {
        let parameters = Self.lowercasedKeys(task.resources?.backendParameters ?? [:])
        var candidates = backends
        if let pinned = parameters[Self.backendKey] {
            candidates = candidates.filter { $0.name == pinned }
            if candidates.isEmpty { return .failure(PlacementRefusal("no backend is called '\(pinned)'", field: "resources.backend_parameters.\(Self.backendKey)")) }
        }
        for (key, value) in parameters.sorted(by: { $0.key < $1.key }) where key.hasPrefix(Self.labelPrefix) {
            let label = String(key.dropFirst(Self.labelPrefix.count))
            candidates = candidates.filter { $0.labels[label] == value }
            if candidates.isEmpty { return .failure(PlacementRefusal("no backend has the label \(label)=\(value)", field: "resources.backend_parameters.\(key)")) }
        }
        let resources = task.resources
        let fits = candidates.filter { Self.fits(resources, on: $0) }
        if fits.isEmpty {
            return .failure(PlacementRefusal("no backend has room for one job of \(Self.describe(resources))", field: "resources"))
        }
        return .success(fits)
    }

    /// Where `task` goes now, given the jobs in flight per backend and the backends that are up.
    func decide(
        _ task: TESTask,
        inFlight: [String: Int],
        available: (String) -> Bool,
        context: PlacementContext = PlacementContext()
    ) -> Decision {
        let fitting: [BackendDescription]
        switch self.fitting(task) {
        case .failure(let refusal): return .never(refusal.description)
        case .success(let backends): fitting = backends
        }
        let candidates = fitting.compactMap { backend -> PlacementCandidate? in
            let count = inFlight[backend.name, default: 0]
            if let limit = backend.maxJobs, count >= limit { return nil }
            guard available(backend.name) else { return nil }
            return PlacementCandidate(backend: backend, inFlight: count)
        }
        guard !candidates.isEmpty else { return .wait }
        return .place(on: policy.choose(among: candidates, context: context).backend.name)
    }

    private static func fits(_ resources: TESResources?, on backend: BackendDescription) -> Bool {
        guard let resources else { return true }
        if let want = resources.cpuCores, let have = backend.cpuCores, want > have { return false }
        if let want = resources.ramGb, let have = backend.ramGb, want > have { return false }
        if let want = resources.diskGb, let have = backend.diskGb, want > have { return false }
        return true
    }

    private static func describe(_ resources: TESResources?) -> String {
        var parts: [String] = []
        if let cpu = resources?.cpuCores { parts.append("\(cpu) CPU cores") }
        if let ram = resources?.ramGb { parts.append("\(ram) GB of RAM") }
        if let disk = resources?.diskGb { parts.append("\(disk) GB of disk") }
        return parts.isEmpty ? "this task" : parts.joined(separator: ", ")
    }

    private static func lowercasedKeys(_ parameters: [String: String]) -> [String: String] {
        Dictionary(parameters.map { ($0.key.lowercased(), $0.value) }, uniquingKeysWith: { first, _ in first })
    }
}

extension BackendDescription {
    /// The `backend_parameters` keys placement reads (`tesp_backend`, `tesp_label_<key>`), for service-info.
    public static func placementParameterKeys(for backends: [BackendDescription]) -> [String] {
        Placement.parameterKeys(for: backends)
    }

    /// Why none of `backends` could ever run `task` (pinned to an unknown backend, a label none has, more
    /// resources than any has), as the field to name in a 400; `nil` when one can.
    public static func placementProblem(of task: TESTask, on backends: [BackendDescription]) -> TESValidationError.Problem? {
        guard case .failure(let refusal) = Placement(backends: backends, policy: FitFirstPolicy()).fitting(task) else { return nil }
        return TESValidationError.Problem(field: refusal.field, message: refusal.description)
    }
}

/// Why no configured backend can run a task.
struct PlacementRefusal: Error, Sendable, Equatable, CustomStringConvertible {
    let description: String
    /// The task field that asked for what no backend has.
    let field: String
    init(_ description: String, field: String) {
        self.description = description
        self.field = field
    }
}
