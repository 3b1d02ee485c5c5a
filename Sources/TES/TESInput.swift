/// A file or directory placed in the container before the executors run (`tesInput`).
public struct TESInput: Codable, Sendable, Equatable {
    public var name: String?
    public var description: String?
    /// Where to fetch the data from; required unless `content` is set.
    public var url: String?
    /// Absolute path inside the container.
    public var path: String?
    public var type: TESFileType?
    /// Inline file content; when set, `url` is ignored.
    public var content: String?
    public var streamable: Bool?

    public init(
        name: String? = nil,
        description: String? = nil,
        url: String? = nil,
        path: String? = nil,
        type: TESFileType? = nil,
        content: String? = nil,
        streamable: Bool? = nil
    ) {
        self.name = name
        self.description = description
        self.url = url
        self.path = path
        self.type = type
        self.content = content
        self.streamable = streamable
    }

    enum CodingKeys: String, CodingKey {
        case name, description, url, path, type, content, streamable
    }
}
