/// Bounds on what one transfer may cost: a slow or hostile server must not hold a transfer slot forever, fill
/// TESP's staging disk, or have TESP walk an endless directory tree.
public struct TransferLimits: Sendable, Equatable {
    /// Entries (files and directories) one DIRECTORY input may list, over all its levels.
    public var maxListingEntries: Int
    /// Directory levels below a DIRECTORY input.
    public var maxListingDepth: Int
    /// A transfer slower than this many bytes per second for ``lowSpeedSeconds`` is abandoned (and retried).
    public var lowSpeedBytesPerSecond: Int
    public var lowSpeedSeconds: Int
    /// The longest one file's transfer may take; 0: no limit.
    public var maxSecondsPerFile: Int
    /// The largest file TESP moves (input or output); 0: no limit.
    public var maxFileBytes: Int64
    /// Addresses no transfer may connect to.
    public var deniedNetworks: DeniedNetworks

    public init(
        maxListingEntries: Int = 100_000,
        maxListingDepth: Int = 32,
        lowSpeedBytesPerSecond: Int = 1024,
        lowSpeedSeconds: Int = 60,
        maxSecondsPerFile: Int = 6 * 3600,
        maxFileBytes: Int64 = 0,
        deniedNetworks: DeniedNetworks = .linkLocal
    ) {
        self.deniedNetworks = deniedNetworks
        self.maxListingEntries = maxListingEntries
        self.maxListingDepth = maxListingDepth
        self.lowSpeedBytesPerSecond = lowSpeedBytesPerSecond
        self.lowSpeedSeconds = lowSpeedSeconds
        self.maxSecondsPerFile = maxSecondsPerFile
        self.maxFileBytes = maxFileBytes
    }
}
