/// Everything TESP can be configured with, as one immutable value.
///
/// The defaults here are the `[default]` profile; `settings.toml` documents each key, and a test checks that the
/// file's `[default]` section and these values agree. Each module receives only its slice.
public struct Settings: Codable, Sendable, Equatable {
    /// The HTTP server.
    public struct Server: Codable, Sendable, Equatable {
        public var host = "127.0.0.1"
        public var port = 8000
        /// Request bodies above this size are refused with 413 (the spec asks for at least 128 KiB of `content`).
        public var maxBodyBytes = 4 * 1024 * 1024
        /// Directory with Swagger UI's dist files (from `pip install swagger-ui-bundle`); empty: use the public CDN.
        public var swaggerUIDir = ""

        enum CodingKeys: String, CodingKey {
            case host, port
            case maxBodyBytes = "max_body_bytes"
            case swaggerUIDir = "swagger_ui_dir"
        }
    }

    /// The MongoDB task store.
    public struct Database: Codable, Sendable, Equatable {
        /// Connection string. Put credentials in the environment (`TESP_DB__MONGODB_URI` or
        /// `TESP_DB__MONGODB_URI_FILE`), not in the repository's settings.toml.
        public var mongodbURI = Secret("mongodb://127.0.0.1:27017/?serverSelectionTimeoutMS=2000&connectTimeoutMS=2000")
        public var database = "tesp"
        public var collection = "tasks"
        public var poolSize = 8
        /// How long start-up waits for the store before giving up.
        public var startupTimeoutSeconds = 30.0

        enum CodingKeys: String, CodingKey {
            case database, collection
            case mongodbURI = "mongodb_uri"
            case poolSize = "pool_size"
            case startupTimeoutSeconds = "startup_timeout_seconds"
        }
    }

    /// What `GET /service-info` says about this deployment.
    public struct ServiceInfo: Codable, Sendable, Equatable {
        public var id = "org.ga4gh.tesp"
        public var name = "TESP"
        public var description = "GA4GH Task Execution Service running tasks on Galaxy Pulsar"
        public var organizationName = "TESP"
        public var organizationURL = "https://github.com/tesp"
        public var contactURL = ""
        public var documentationURL = ""
        public var environment = ""
        /// Storage locations advertised to clients (for example `ftp://ftp.example.org/`).
        public var storage: [String] = []

        enum CodingKeys: String, CodingKey {
            case id, name, description, environment, storage
            case organizationName = "organization_name"
            case organizationURL = "organization_url"
            case contactURL = "contact_url"
            case documentationURL = "documentation_url"
        }
    }

    /// Limits on submitted tasks.
    public struct Tasks: Codable, Sendable, Equatable {
        public var maxExecutors = 1000
        public var maxInputs = 10_000
        public var maxOutputs = 10_000
        public var maxVolumes = 1000
        public var maxCPUCores = 1024
        public var maxRAMGb = 65_536.0
        public var maxDiskGb = 1_048_576.0
        /// `backend_parameters` keys this server supports (listed in service-info).
        public var backendParameters: [String] = []

        enum CodingKeys: String, CodingKey {
            case maxExecutors = "max_executors"
            case maxInputs = "max_inputs"
            case maxOutputs = "max_outputs"
            case maxVolumes = "max_volumes"
            case maxCPUCores = "max_cpu_cores"
            case maxRAMGb = "max_ram_gb"
            case maxDiskGb = "max_disk_gb"
            case backendParameters = "backend_parameters"
        }
    }

    /// Logging.
    public struct Log: Codable, Sendable, Equatable {
        /// trace, debug, info, notice, warning, error or critical.
        public var level = "info"
    }

    public var server = Server()
    public var db = Database()
    public var serviceInfo = ServiceInfo()
    public var tasks = Tasks()
    public var log = Log()

    public init() {}

    enum CodingKeys: String, CodingKey {
        case server, db, tasks, log
        case serviceInfo = "service_info"
    }
}
