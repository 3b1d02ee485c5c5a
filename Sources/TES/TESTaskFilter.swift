/// Which tasks `GET /tasks` returns: every given condition must hold.
public struct TESTaskFilter: Sendable, Equatable {
    /// One `tag_key`/`tag_value` pair; a `nil` value matches any value of the key.
    public struct Tag: Sendable, Equatable {
        public var key: String
        public var value: String?

        public init(key: String, value: String?) {
            self.key = key
            self.value = value
        }
    }

    /// A literal prefix of the task name (not a pattern).
    public var namePrefix: String?
    public var state: TESState?
    public var tags: [Tag]

    public init(namePrefix: String? = nil, state: TESState? = nil, tags: [Tag] = []) {
        self.namePrefix = namePrefix
        self.state = state
        self.tags = tags
    }

    /// Whether `task` passes the filter.
    public func matches(_ task: TESTask) -> Bool {
        // Compare scalars, not Characters: a literal prefix, as a database compares it (no Unicode equivalence).
        if let namePrefix, !(task.name ?? "").unicodeScalars.starts(with: namePrefix.unicodeScalars) { return false }
        if let state, task.state != state { return false }
        let taskTags = task.tags ?? [:]
        return tags.allSatisfy { tag in
            guard let actual = taskTags[tag.key] else { return false }
            return tag.value.map { $0 == actual } ?? true
        }
    }
}
