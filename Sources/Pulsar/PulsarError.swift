/// A failed call to a Pulsar server. The description never holds the token or the full URL.
public struct PulsarError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure; a struct over a private enum, so a new kind breaks no `switch`.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: Hashable, Sendable { case unreachable, busy, serverError, unauthorized, rejected, badResponse }
        private let value: Value

        /// No answer: connection refused or reset, or a timeout. Worth retrying.
        public static let unreachable = Code(value: .unreachable)
        /// TESP's own HTTP client had no connection free in time: nothing is wrong with Pulsar or the job.
        public static let busy = Code(value: .busy)
        /// A 5xx answer. Worth retrying.
        public static let serverError = Code(value: .serverError)
        /// 401/403: the token is wrong. Retrying will not help.
        public static let unauthorized = Code(value: .unauthorized)
        /// Another 4xx answer. Retrying will not help.
        public static let rejected = Code(value: .rejected)
        /// An answer TESP cannot read.
        public static let badResponse = Code(value: .badResponse)

        public var description: String { "\(value)" }
    }

    public let code: Code
    public let description: String

    public init(_ code: Code, _ description: String) {
        self.code = code
        self.description = description
    }

    /// Whether the same call may succeed later.
    public var isTransient: Bool { code == .unreachable || code == .serverError }
}
