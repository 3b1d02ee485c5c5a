import Foundation

/// A storage location as TES writes it (`ftp://user:pass@host/dir/file`, `https://…`, `file:///…`, or a bare
/// absolute path, which the spec allows for local files), split into what transfers need.
///
/// Its ``description`` never contains the password.
public struct StorageURL: Sendable, Equatable, CustomStringConvertible {
    public var scheme: String
    public var user: String?
    public var password: String?
    public var host: String
    public var port: Int?
    /// The percent-decoded path (`/dir/file`).
    public var path: String

    /// Parses `text`. - Returns: `nil` when it is neither a URL with a scheme and an authority nor an absolute path.
    public init?(_ text: String) {
        if text.hasPrefix("/") {
            self.init(scheme: "file", host: "", path: text)
            return
        }
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased() else {
            return nil
        }
        let host = components.host ?? ""
        if scheme != "file" && host.isEmpty { return nil }
        self.init(
            scheme: scheme,
            user: components.user,
            password: components.password,
            host: host,
            port: components.port,
            path: components.path
        )
    }

    public init(scheme: String, user: String? = nil, password: String? = nil, host: String, port: Int? = nil, path: String) {
        self.scheme = scheme
        self.user = user
        self.password = password
        self.host = host
        self.port = port
        self.path = path
    }

    /// The same location without the password (the user name stays, so a view still says who logs in).
    public var withoutPassword: StorageURL {
        var copy = self
        copy.password = nil
        return copy
    }

    /// The same location with no credentials at all: what libcurl gets as its URL (credentials go separately).
    public var withoutCredentials: StorageURL {
        var copy = self
        copy.user = nil
        copy.password = nil
        return copy
    }

    /// `scheme://host:port`, the key credentials are looked up by.
    public var origin: String {
        "\(scheme)://\(host)" + (port.map { ":\($0)" } ?? "")
    }

    /// The URL as text, with the password (if any) in it; only for handing to a transfer library.
    public var text: String {
        var components = URLComponents()
        components.scheme = scheme
        components.user = user
        components.password = password
        components.host = host
        components.port = port
        components.path = path
        if scheme == "file" { return "file://" + (components.percentEncodedPath) }
        return components.string ?? "\(scheme)://\(host)\(path)"
    }

    /// The URL as text without the password.
    public var description: String { withoutPassword.text }

    /// This location with `relativePath` appended, one `/` between them (for directory and wildcard outputs).
    public func appending(_ relativePath: String) -> StorageURL {
        var copy = self
        let base = path.hasSuffix("/") ? String(path.dropLast()) : path
        let tail = relativePath.hasPrefix("/") ? String(relativePath.dropFirst()) : relativePath
        copy.path = base + "/" + tail
        return copy
    }
}
