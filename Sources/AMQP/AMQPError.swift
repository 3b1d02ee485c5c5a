/// A failure talking to a broker.
public struct AMQPError: Error, Sendable, CustomStringConvertible {
    public enum Code: Sendable, Equatable {
        /// The settings' URL cannot be used.
        case invalidURL
        /// No connection now (the broker is down or unreachable); the client keeps reconnecting.
        case notConnected
        /// The connection broke, possibly after a message was sent: a publish may or may not have arrived.
        case connectionLost
        /// The broker refused (a login, a declaration, a message it nacked).
        case refused
        /// The client is shutting down.
        case stopped
    }

    public var code: Code
    public var description: String

    public init(_ code: Code, _ description: String) {
        self.code = code
        self.description = description
    }
}
