/// The bounds a submitted task must stay within; the server fills them from its settings.
public struct TESValidationLimits: Sendable, Equatable {
    public var maxExecutors: Int
    public var maxInputs: Int
    public var maxOutputs: Int
    public var maxVolumes: Int
    public var maxCPUCores: Int
    public var maxRAMGb: Double
    public var maxDiskGb: Double
    /// The `backend_parameters` keys this server supports, matched case-insensitively.
    public var supportedBackendParameters: [String]
    /// URL schemes inputs may be read from, and outputs written to (lower case); empty: any scheme.
    public var readableURLSchemes: Set<String>
    public var writableURLSchemes: Set<String>
    /// Directories `file://` URLs (and bare absolute paths) may point into; empty: `file://` is refused.
    public var allowedFileDirectories: [String]
    /// Tags one task may have, and bytes one tag key or value may hold.
    public var maxTags: Int
    public var maxTagBytes: Int

    public init(
        maxExecutors: Int = 1000,
        maxInputs: Int = 10_000,
        maxOutputs: Int = 10_000,
        maxVolumes: Int = 1000,
        maxCPUCores: Int = 1024,
        maxRAMGb: Double = 65_536,
        maxDiskGb: Double = 1_048_576,
        supportedBackendParameters: [String] = [],
        readableURLSchemes: Set<String> = [],
        writableURLSchemes: Set<String> = [],
        allowedFileDirectories: [String] = [],
        maxTags: Int = 256,
        maxTagBytes: Int = 4096
    ) {
        self.maxTags = maxTags
        self.maxTagBytes = maxTagBytes
        self.maxExecutors = maxExecutors
        self.maxInputs = maxInputs
        self.maxOutputs = maxOutputs
        self.maxVolumes = maxVolumes
        self.maxCPUCores = maxCPUCores
        self.maxRAMGb = maxRAMGb
        self.maxDiskGb = maxDiskGb
        self.supportedBackendParameters = supportedBackendParameters
        self.readableURLSchemes = readableURLSchemes
        self.writableURLSchemes = writableURLSchemes
        self.allowedFileDirectories = allowedFileDirectories
    }
}
