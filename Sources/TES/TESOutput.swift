/// A file, directory or wildcard match published after the executors ran (`tesOutput`).
public struct TESOutput: Codable, Sendable, Equatable {
    public var name: String?
    public var description: String?
    /// Where to publish; a directory URL when `path` has wildcards.
    public var url: String?
    /// Absolute path inside the container; may hold POSIX wildcards (`*`, `?`, `[…]`).
    public var path: String?
    /// Removed from each wildcard match before it is appended to `url`; required when `path` has wildcards.
    public var pathPrefix: String?
    public var type: TESFileType?

    public init(
        name: String? = nil,
        description: String? = nil,
        url: String? = nil,
        path: String? = nil,
        pathPrefix: String? = nil,
        type: TESFileType? = nil
    ) {
        self.name = name
        self.description = description
        self.url = url
        self.path = path
        self.pathPrefix = pathPrefix
        self.type = type
    }

    enum CodingKeys: String, CodingKey {
        case name, description, url, path, type
        case pathPrefix = "path_prefix"
    }
}
