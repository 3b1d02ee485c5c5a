import Foundation

/// Where a broker is and how to log in: an `amqp://` or `amqps://` URL as kombu and Pulsar read it
/// (`amqp://user:password@host:port/vhost`, the vhost percent-encoded; `//` or nothing is the vhost `/`).
public struct AMQPURL: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public var user: String
    public var password: String
    public var virtualHost: String
    public var isTLS: Bool

    /// - Throws: ``AMQPError`` naming what is wrong (never echoing the password).
    public init(_ text: String) throws {
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased() else {
            throw AMQPError(.invalidURL, "not a URL (expected amqp://user:password@host:port/vhost)")
        }
        switch scheme {
        case "amqp": isTLS = false
        case "amqps": isTLS = true
        default: throw AMQPError(.invalidURL, "scheme '\(scheme)' is not amqp or amqps")
        }
        guard let host = components.host, !host.isEmpty else { throw AMQPError(.invalidURL, "the URL has no host") }
        self.host = host
        self.port = components.port ?? (isTLS ? 5671 : 5672)
        self.user = components.percentEncodedUser.flatMap { $0.removingPercentEncoding } ?? "guest"
        self.password = components.percentEncodedPassword.flatMap { $0.removingPercentEncoding } ?? "guest"
        let path = components.percentEncodedPath
        let vhost = path.hasPrefix("/") ? String(path.dropFirst()) : path
        self.virtualHost = vhost.isEmpty ? "/" : (vhost.removingPercentEncoding ?? vhost)
    }

    /// The URL without its password, for logs and errors.
    public var description: String {
        let vhost = virtualHost == "/" ? "/" : virtualHost.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
        return "\(isTLS ? "amqps" : "amqp")://\(user)@\(host):\(port)/\(vhost)"
    }

    /// `host:port`, a metrics label that says which broker without saying who logs in.
    public var endpoint: String { "\(host):\(port)" }
}
