import TES

/// The kinds of storage TESP moves files with, by URL scheme, and what each can do: the transfers pick their
/// storage here, and the task check and service-info list what can be read and what can be written from it.
public struct StorageRegistry: Sendable {
    /// One kind of storage under the schemes it serves.
    public struct Entry: Sendable {
        public var schemes: Set<String>
        public var storage: any Storage
        public var canRead: Bool
        public var canWrite: Bool

        public init(schemes: Set<String>, storage: any Storage, canRead: Bool = true, canWrite: Bool = true) {
            self.schemes = schemes
            self.storage = storage
            self.canRead = canRead
            self.canWrite = canWrite
        }
    }

    private var entries: [Entry] = []

    public init(_ entries: [Entry] = []) {
        for entry in entries { register(entry) }
    }

    /// Adds `entry`; a scheme registered before is served by the new entry from now on.
    public mutating func register(_ entry: Entry) {
        for index in entries.indices { entries[index].schemes.subtract(entry.schemes) }
        entries.removeAll { $0.schemes.isEmpty }
        entries.append(entry)
    }

    /// Schemes inputs can be read from.
    public var readableSchemes: Set<String> { Set(entries.filter(\.canRead).flatMap(\.schemes)) }
    /// Schemes outputs can be written to.
    public var writableSchemes: Set<String> { Set(entries.filter(\.canWrite).flatMap(\.schemes)) }

    /// The storage for reading `url`. - Throws: ``TransferError`` `.unsupported` when nothing reads its scheme.
    func reader(for url: StorageURL) throws -> any Storage {
        guard let entry = entries.first(where: { $0.canRead && $0.schemes.contains(url.scheme) }) else {
            throw TransferError(.unsupported, "\(url.scheme):// URLs cannot be read here")
        }
        return entry.storage
    }

    /// The storage for writing `url`. - Throws: ``TransferError`` `.unsupported` when nothing writes its scheme.
    func writer(for url: StorageURL) throws -> any Storage {
        guard let entry = entries.first(where: { $0.canWrite && $0.schemes.contains(url.scheme) }) else {
            throw TransferError(.unsupported, "\(url.scheme):// URLs cannot be written here")
        }
        return entry.storage
    }
}
