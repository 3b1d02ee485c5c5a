/// Answer to `POST /tasks` (`tesCreateTaskResponse`).
public struct TESCreateTaskResponse: Codable, Sendable, Equatable {
    public var id: String

    public init(id: String) { self.id = id }
}

/// Answer to `POST /tasks/{id}:cancel` (`tesCancelTaskResponse`): an empty object.
public struct TESCancelTaskResponse: Codable, Sendable, Equatable {
    public init() {}
}

/// Answer to `GET /tasks` (`tesListTasksResponse`).
public struct TESListTasksResponse: Codable, Sendable, Equatable {
    public var tasks: [TESTask]
    /// Absent on the last page.
    public var nextPageToken: String?

    public init(tasks: [TESTask], nextPageToken: String?) {
        self.tasks = tasks
        self.nextPageToken = nextPageToken
    }

    enum CodingKeys: String, CodingKey {
        case tasks
        case nextPageToken = "next_page_token"
    }
}

/// Answer to `GET /service-info` (`tesServiceInfo`: GA4GH service-info 1.0 plus the TES fields).
public struct TESServiceInfo: Codable, Sendable, Equatable {
    /// `type` of a GA4GH service.
    public struct ServiceType: Codable, Sendable, Equatable {
        public var group: String
        public var artifact: String
        public var version: String

        public init(group: String = "org.ga4gh", artifact: String = "tes", version: String = "1.1.0") {
            self.group = group
            self.artifact = artifact
            self.version = version
        }
    }

    /// The organization responsible for the service.
    public struct Organization: Codable, Sendable, Equatable {
        public var name: String
        public var url: String

        public init(name: String, url: String) {
            self.name = name
            self.url = url
        }
    }

    public var id: String
    public var name: String
    public var type: ServiceType
    public var description: String?
    public var organization: Organization
    public var contactUrl: String?
    public var documentationUrl: String?
    public var createdAt: String?
    public var updatedAt: String?
    public var environment: String?
    public var version: String
    /// Storage locations the service can read from and write to.
    public var storage: [String]
    /// The `backend_parameters` keys the service supports.
    public var backendParameters: [String]

    public init(
        id: String,
        name: String,
        type: ServiceType = .init(),
        description: String? = nil,
        organization: Organization,
        contactUrl: String? = nil,
        documentationUrl: String? = nil,
        createdAt: String? = nil,
        updatedAt: String? = nil,
        environment: String? = nil,
        version: String,
        storage: [String],
        backendParameters: [String]
    ) {
        self.id = id
        self.name = name
        self.type = type
        self.description = description
        self.organization = organization
        self.contactUrl = contactUrl
        self.documentationUrl = documentationUrl
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.environment = environment
        self.version = version
        self.storage = storage
        self.backendParameters = backendParameters
    }

    enum CodingKeys: String, CodingKey {
        case id, name, type, description, organization, contactUrl, documentationUrl, createdAt, updatedAt
        case environment, version, storage
        case backendParameters = "tesResources_backend_parameters"
    }
}
