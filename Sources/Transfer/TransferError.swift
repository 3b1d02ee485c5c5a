/// A failed transfer. Its description names the URL without credentials and says why.
public struct TransferError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure; a struct over a private enum, so a new kind breaks no `switch`.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: Hashable, Sendable { case notFound, denied, transient, unsupported, failed }
        private let value: Value

        /// The file or directory does not exist (FTP 550, HTTP 404).
        public static let notFound = Code(value: .notFound)
        /// Login refused or no permission (FTP 530, HTTP 401/403, a path outside the allowed directories).
        public static let denied = Code(value: .denied)
        /// Connection refused or reset, timeouts, FTP 421/425/450, HTTP 5xx: worth retrying.
        public static let transient = Code(value: .transient)
        /// A scheme or operation this server does not support.
        public static let unsupported = Code(value: .unsupported)
        /// Anything else; not retried.
        public static let failed = Code(value: .failed)

        public var description: String { "\(value)" }
    }

    public let code: Code
    public let description: String

    public init(_ code: Code, _ description: String) {
        self.code = code
        self.description = Redaction.redact(description)
    }
}
