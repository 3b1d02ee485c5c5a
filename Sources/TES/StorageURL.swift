import Foundation

/// A storage location as TES writes it (`ftp://user:pass@host/dir/file`, `https://…?X-Amz-Signature=…`,
/// `file:///…`, or a bare absolute path, which the spec allows for local files), split into what transfers need.
///
/// The one parser of task URLs: task validation and the transfers both use it, so a URL the transfers would read
/// differently is refused when the task is created. Its ``description`` never contains the password or the
/// values of signature and token query parameters.
public struct StorageURL: Sendable, Equatable, CustomStringConvertible {
    public var scheme: String
    public var user: String?
    public var password: String?
    public var host: String
    public var port: Int?
    /// The percent-decoded path (`/dir/file`).
    public var path: String
    /// The query as given (still percent-encoded, without the `?`): pre-signed URLs need it byte for byte.
    public var query: String?

    /// Parses `text`. - Returns: `nil` when ``problem(with:)`` has one.
    public init?(_ text: String) {
        guard case .success(let url) = Self.parse(text) else { return nil }
        self = url
    }

    public init(
        scheme: String,
        user: String? = nil,
        password: String? = nil,
        host: String,
        port: Int? = nil,
        path: String,
        query: String? = nil
    ) {
        self.scheme = scheme
        self.user = user
        self.password = password
        self.host = host
        self.port = port
        self.path = path
        self.query = query
    }

    /// Why `text` is not a storage location this server can use unambiguously, or `nil` if it is.
    public static func problem(with text: String) -> String? {
        if case .failure(let problem) = parse(text) { return problem.message }
        return nil
    }

    private struct Problem: Error {
        var message: String
    }

    private static func parse(_ text: String) -> Result<StorageURL, Problem> {
        if text.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F }) {
            return .failure(Problem(message: "must not contain control characters"))
        }
        if text.hasPrefix("/") {
            return .success(StorageURL(scheme: "file", host: "", path: text))
        }
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased() else {
            return .failure(
                Problem(
                    message: "cannot be parsed as a URL (percent-encode '@', ':', '/', '#' and spaces in user names, "
                        + "passwords and paths: %40, %3A, %2F, %23, %20)"
                )
            )
        }
        if components.fragment != nil {
            return .failure(Problem(message: "must not have a '#' fragment (percent-encode '#' as %23)"))
        }
        let host = components.host ?? ""
        if scheme == "file" {
            guard host.isEmpty || host == "localhost" else {
                return .failure(Problem(message: "file:// URLs name files on this server: no host but localhost"))
            }
            if components.user != nil || components.password != nil || components.port != nil || components.query != nil {
                return .failure(Problem(message: "file:// URLs have no user, password, port or query"))
            }
        } else if host.isEmpty {
            return .failure(Problem(message: "must have a host (scheme://host/path)"))
        }
        // An '@' after the host means the user information was cut short by an unencoded '/', '?' or '#' in a
        // password: the rest of the password would be shown as part of the path.
        if components.percentEncodedPath.contains("@") || (components.percentEncodedQuery ?? "").contains("@") {
            return .failure(
                Problem(message: "has an '@' after the host: percent-encode '@', '/', '?' and '#' in user names and passwords")
            )
        }
        guard let path = components.percentEncodedPath.removingPercentEncoding else {
            return .failure(Problem(message: "has a path whose percent-encoding is not valid UTF-8"))
        }
        if path.utf8.contains(0) {
            return .failure(Problem(message: "must not contain NUL characters (%00)"))
        }
        if scheme == "file" {
            if let problem = TESPath.problem(with: path) { return .failure(Problem(message: "path \(problem)")) }
        }
        return .success(
            StorageURL(
                scheme: scheme,
                user: components.user,
                password: components.password,
                host: host == "localhost" && scheme == "file" ? "" : host,
                port: components.port,
                path: path,
                query: components.percentEncodedQuery
            )
        )
    }

    /// Query parameters whose values are credentials (pre-signed S3 and GCS URLs, Azure SAS, API tokens),
    /// matched case-insensitively.
    public static let secretQueryParameters: Set<String> = [
        "x-amz-signature", "x-amz-credential", "x-amz-security-token", "x-goog-signature", "x-goog-credential",
        "signature", "sig", "token", "access_token", "api_key", "apikey", "key", "password", "secret",
    ]

    /// Whether the query holds a credential (one of ``secretQueryParameters``).
    public var hasSecretQuery: Bool {
        query.map { Self.redactingQuery($0) != $0 } ?? false
    }

    /// `query` with the value of every credential parameter replaced by `***`.
    public static func redactingQuery(_ query: String) -> String {
        query.split(separator: "&", omittingEmptySubsequences: false).map { item -> String in
            guard let equals = item.firstIndex(of: "=") else { return String(item) }
            let name = item[..<equals].removingPercentEncoding?.lowercased() ?? item[..<equals].lowercased()
            return secretQueryParameters.contains(name) ? item[...equals] + "***" : String(item)
        }.joined(separator: "&")
    }

    /// The same location without the password (the user name stays, so a view still says who logs in) and with
    /// credential query parameters redacted: what is stored and shown.
    public var withoutSecrets: StorageURL {
        var copy = self
        copy.password = nil
        copy.query = query.map(Self.redactingQuery)
        return copy
    }

    /// The same location with no user or password: what libcurl gets as its URL (credentials go separately).
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

    /// The URL as text, with the password and query (if any) in it; only for handing to a transfer library.
    public var text: String {
        var components = URLComponents()
        components.scheme = scheme
        components.user = user
        components.password = password
        components.host = host
        components.port = port
        components.path = path
        components.percentEncodedQuery = query
        if scheme == "file" { return "file://" + (components.percentEncodedPath) }
        return components.string ?? "\(scheme)://\(host)\(path)"
    }

    /// The URL as text without the password and with credential query parameters redacted.
    public var description: String { withoutSecrets.text }

    /// This location with `relativePath` appended, one `/` between them (for directory and wildcard outputs).
    public func appending(_ relativePath: String) -> StorageURL {
        var copy = self
        copy.path = TESPath.joined(path, relativePath.hasPrefix("/") ? String(relativePath.dropFirst()) : relativePath)
        return copy
    }
}
