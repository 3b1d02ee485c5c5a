/// What a task asks of the machine that runs it (`tesResources`).
public struct TESResources: Codable, Sendable, Equatable {
    public var cpuCores: Int?
    public var preemptible: Bool?
    public var ramGb: Double?
    public var diskGb: Double?
    public var zones: [String]?
    /// Backend-specific keys; only keys the server supports are kept (TES 1.1).
    public var backendParameters: [String: String]?
    /// When true, an unsupported `backend_parameters` key rejects the task.
    public var backendParametersStrict: Bool?

    public init(
        cpuCores: Int? = nil,
        preemptible: Bool? = nil,
        ramGb: Double? = nil,
        diskGb: Double? = nil,
        zones: [String]? = nil,
        backendParameters: [String: String]? = nil,
        backendParametersStrict: Bool? = nil
    ) {
        self.cpuCores = cpuCores
        self.preemptible = preemptible
        self.ramGb = ramGb
        self.diskGb = diskGb
        self.zones = zones
        self.backendParameters = backendParameters
        self.backendParametersStrict = backendParametersStrict
    }

    enum CodingKeys: String, CodingKey {
        case preemptible, zones
        case cpuCores = "cpu_cores"
        case ramGb = "ram_gb"
        case diskGb = "disk_gb"
        case backendParameters = "backend_parameters"
        case backendParametersStrict = "backend_parameters_strict"
    }
}
