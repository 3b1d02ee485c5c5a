import Foundation

/// A task: inputs to place, containers to run, outputs to publish, and what happened (`tesTask`).
///
/// Every field is optional in Swift because a task travels in several shapes: as a client sends it, as the server
/// stores it, and projected to a view (MINIMAL has only `id` and `state`).
public struct TESTask: Sendable, Equatable {
    /// Opaque, URL-safe, unique id that sorts by creation time; see ``TESTaskID``.
    public var id: String?
    public var state: TESState?
    public var name: String?
    public var description: String?
    public var inputs: [TESInput]?
    public var outputs: [TESOutput]?
    public var resources: TESResources?
    public var executors: [TESExecutor]?
    public var volumes: [String]?
    public var tags: [String: String]?
    public var logs: [TESTaskLog]?
    public var creationTime: Date?

    public init(
        id: String? = nil,
        state: TESState? = nil,
        name: String? = nil,
        description: String? = nil,
        inputs: [TESInput]? = nil,
        outputs: [TESOutput]? = nil,
        resources: TESResources? = nil,
        executors: [TESExecutor]? = nil,
        volumes: [String]? = nil,
        tags: [String: String]? = nil,
        logs: [TESTaskLog]? = nil,
        creationTime: Date? = nil
    ) {
        self.id = id
        self.state = state
        self.name = name
        self.description = description
        self.inputs = inputs
        self.outputs = outputs
        self.resources = resources
        self.executors = executors
        self.volumes = volumes
        self.tags = tags
        self.logs = logs
        self.creationTime = creationTime
    }
}

extension CodingUserInfoKey {
    /// Set to `true` to code `tags` as a list of `{"key", "value"}` objects instead of a JSON object.
    ///
    /// Stores use it: tag keys are arbitrary strings (dots, dollars) that a document database cannot use as field
    /// names or query paths, while a list of pairs can be indexed and matched exactly.
    public static let tesTagsAsKeyValueList = CodingUserInfoKey(rawValue: "tes.tagsAsKeyValueList")!
}

/// One tag, in the list form that ``CodingUserInfoKey/tesTagsAsKeyValueList`` selects.
public struct TESTagPair: Codable, Sendable, Equatable {
    public var key: String
    public var value: String

    public init(key: String, value: String) {
        self.key = key
        self.value = value
    }
}

extension TESTask: Codable {
    enum CodingKeys: String, CodingKey {
        case id, state, name, description, inputs, outputs, resources, executors, volumes, tags, logs
        case creationTime = "creation_time"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decodeIfPresent(String.self, forKey: .id)
        state = try c.decodeIfPresent(TESState.self, forKey: .state)
        name = try c.decodeIfPresent(String.self, forKey: .name)
        description = try c.decodeIfPresent(String.self, forKey: .description)
        inputs = try c.decodeIfPresent([TESInput].self, forKey: .inputs)
        outputs = try c.decodeIfPresent([TESOutput].self, forKey: .outputs)
        resources = try c.decodeIfPresent(TESResources.self, forKey: .resources)
        executors = try c.decodeIfPresent([TESExecutor].self, forKey: .executors)
        volumes = try c.decodeIfPresent([String].self, forKey: .volumes)
        if decoder.userInfo[.tesTagsAsKeyValueList] as? Bool == true {
            tags = try c.decodeIfPresent([TESTagPair].self, forKey: .tags).map { pairs in
                Dictionary(pairs.map { ($0.key, $0.value) }, uniquingKeysWith: { _, last in last })
            }
        } else {
            tags = try c.decodeIfPresent([String: String].self, forKey: .tags)
        }
        logs = try c.decodeIfPresent([TESTaskLog].self, forKey: .logs)
        creationTime = try c.decodeIfPresent(Date.self, forKey: .creationTime)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeIfPresent(id, forKey: .id)
        try c.encodeIfPresent(state, forKey: .state)
        try c.encodeIfPresent(name, forKey: .name)
        try c.encodeIfPresent(description, forKey: .description)
        try c.encodeIfPresent(inputs, forKey: .inputs)
        try c.encodeIfPresent(outputs, forKey: .outputs)
        try c.encodeIfPresent(resources, forKey: .resources)
        try c.encodeIfPresent(executors, forKey: .executors)
        try c.encodeIfPresent(volumes, forKey: .volumes)
        if encoder.userInfo[.tesTagsAsKeyValueList] as? Bool == true {
            let pairs = tags.map { $0.sorted { $0.key < $1.key }.map { TESTagPair(key: $0.key, value: $0.value) } }
            try c.encodeIfPresent(pairs, forKey: .tags)
        } else {
            try c.encodeIfPresent(tags, forKey: .tags)
        }
        try c.encodeIfPresent(logs, forKey: .logs)
        try c.encodeIfPresent(creationTime, forKey: .creationTime)
    }
}
