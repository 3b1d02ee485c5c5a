/// A failure of the task store. Its description is safe to show a client: no URIs, hosts or credentials.
public struct TaskStoreError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure; a struct over a private enum, so a new kind breaks no `switch`.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: Hashable, Sendable { case notFound, conflict, unavailable, corrupt, tooLarge, leaseLost, failed }
        private let value: Value

        /// No task has that id.
        public static let notFound = Code(value: .notFound)
        /// A task with that id exists already.
        public static let conflict = Code(value: .conflict)
        /// The store cannot be reached (down, timed out, refused); the request may succeed later.
        public static let unavailable = Code(value: .unavailable)
        /// A stored document could not be read back.
        public static let corrupt = Code(value: .corrupt)
        /// The write would make a task larger than the store holds (MongoDB: 16 MiB a document). Permanent: the
        /// same write fails again.
        public static let tooLarge = Code(value: .tooLarge)
        /// The write was fenced on a lease that another engine process holds now (or nobody): the writer no longer
        /// drives the task and must stop.
        public static let leaseLost = Code(value: .leaseLost)
        /// The store refused or failed the operation.
        public static let failed = Code(value: .failed)

        public var description: String { "\(value)" }
    }

    public let code: Code
    public let description: String
    /// The database server's own error code, when it answered with one (MongoDB's `code`).
    let serverCode: UInt32?

    public init(_ code: Code, _ description: String) {
        self.init(code, description, serverCode: nil)
    }

    init(_ code: Code, _ description: String, serverCode: UInt32?) {
        self.code = code
        self.description = description
        self.serverCode = serverCode
    }

    static func leaseLost(_ id: String, holder: String) -> TaskStoreError {
        TaskStoreError(.leaseLost, "'\(holder)' no longer holds the lease of task '\(id.prefix(64))'")
    }

    static func notFound(_ id: String) -> TaskStoreError {
        TaskStoreError(.notFound, "no task with id '\(id.prefix(64))'")
    }
}
