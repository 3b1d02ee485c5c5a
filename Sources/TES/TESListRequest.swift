/// A parsed `GET /tasks` request: filter, page and view.
public struct TESListRequest: Sendable, Equatable {
    public static let defaultPageSize = 256
    public static let maxPageSize = 2048

    public var filter: TESTaskFilter
    /// How many tasks at most; 1 through ``maxPageSize``.
    public var pageSize: Int
    /// Return only tasks older than this id (from the page token).
    public var afterID: String?
    public var view: TESView
    /// Set by the server, not the client: a page ends early (with a next page token) once its tasks add up to
    /// this many bytes, so that `view=FULL&page_size=2048` cannot build an answer of hundreds of megabytes.
    public var maxBytes: Int?

    public init(
        filter: TESTaskFilter = .init(),
        pageSize: Int = defaultPageSize,
        afterID: String? = nil,
        view: TESView = .minimal,
        maxBytes: Int? = nil
    ) {
        self.filter = filter
        self.pageSize = pageSize
        self.afterID = afterID
        self.view = view
        self.maxBytes = maxBytes
    }

    /// Parses the query parameters of `GET /tasks`, in order, repeated names included.
    ///
    /// `page_size`: absent or 0 means the default (256, as Funnel treats proto3's unset 0); above 2048 is lowered to
    /// 2048, the spec's ceiling; negative or not a number is a 400. `tag_key`/`tag_value` are zipped by position; a
    /// missing or empty value matches any value of the key.
    /// - Throws: ``TESValidationError`` naming the parameter.
    public static func parse(query: [(name: String, value: String)]) throws(TESValidationError) -> TESListRequest {
        var request = TESListRequest()
        var tagKeys: [String] = []
        var tagValues: [String] = []
        var problems: [TESValidationError.Problem] = []
        for (name, value) in query {
            switch name {
            case "name_prefix":
                request.filter.namePrefix = value.isEmpty ? nil : value
            case "state":
                if let state = TESState(rawValue: value) {
                    request.filter.state = state
                } else {
                    problems.append(.init(field: "state", message: "unknown state '\(value.prefix(64))'"))
                }
            case "tag_key", "tag_key[]":
                tagKeys.append(value)
            case "tag_value", "tag_value[]":
                tagValues.append(value)
            case "page_size":
                guard let size = Int(value), size >= 0 else {
                    problems.append(.init(field: "page_size", message: "must be a whole number from 1 to \(maxPageSize)"))
                    continue
                }
                request.pageSize = size == 0 ? defaultPageSize : min(size, maxPageSize)
            case "page_token":
                if value.isEmpty { continue }
                if let id = TESPageToken.lastID(from: value) {
                    request.afterID = id
                } else {
                    problems.append(.init(field: "page_token", message: "not a page token from this server"))
                }
            case "view":
                if let view = TESView(rawValue: value) {
                    request.view = view
                } else {
                    problems.append(.init(field: "view", message: "must be MINIMAL, BASIC or FULL"))
                }
            default:
                continue
            }
        }
        if tagValues.count > tagKeys.count {
            problems.append(.init(field: "tag_value", message: "has \(tagValues.count) values for \(tagKeys.count) tag_key"))
        }
        for (index, key) in tagKeys.enumerated() {
            if key.isEmpty {
                problems.append(.init(field: "tag_key", message: "must not be empty"))
                continue
            }
            let value = index < tagValues.count && !tagValues[index].isEmpty ? tagValues[index] : nil
            request.filter.tags.append(.init(key: key, value: value))
        }
        guard problems.isEmpty else { throw TESValidationError(problems: problems) }
        return request
    }
}
