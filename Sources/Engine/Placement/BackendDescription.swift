/// What the settings say about one backend: its name, how many jobs it takes at once, what one job may ask for
/// there, and its labels. Placement decides on these alone.
public struct BackendDescription: Sendable, Equatable {
    public var name: String
    /// Jobs in flight at once (admission); `nil`: no limit.
    public var maxJobs: Int?
    /// The most one job may ask for here; `nil`: not checked.
    public var cpuCores: Int?
    public var ramGb: Double?
    public var diskGb: Double?
    /// Free-form labels a task can ask for (`tesp_label_<key>=<value>` in `backend_parameters`).
    public var labels: [String: String]
    /// Storage hosts near this backend (data-locality placement).
    public var near: [String]

    public init(
        name: String,
        maxJobs: Int? = nil,
        cpuCores: Int? = nil,
        ramGb: Double? = nil,
        diskGb: Double? = nil,
        labels: [String: String] = [:],
        near: [String] = []
    ) {
        self.near = near
        self.name = name
        self.maxJobs = maxJobs
        self.cpuCores = cpuCores
        self.ramGb = ramGb
        self.diskGb = diskGb
        self.labels = labels
    }
}
