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
        /// Directory with Swagger UI's dist files (from `pip install swagger-ui-bundle`); empty: no Swagger UI (never a CDN).
        public var swaggerUIDir = ""
        /// Origins (`https://app.example.org`) whose web pages may call the API; others' POSTs get 403.
        public var corsAllowedOrigins: [String] = []
        /// A page of `GET /tasks` ends early (with a next page token) past this many bytes of tasks.
        public var maxListBytes = 16 * 1024 * 1024
        /// `GET /tasks?view=FULL` answers built at once.
        public var maxConcurrentFullLists = 4
        /// A connection with nothing read or written for this long is closed.
        public var idleTimeoutSeconds = 60.0
        /// Connections open at once; more wait in the listen backlog until one closes.
        public var maxConnections = 1024
        /// Where backends reach this server; empty: TESP serves no inputs to backends (they pass through its disk).
        public var publicURL = ""
        /// The HMAC key of served-input URLs, shared by replicas; empty: a random one per process.
        public var stagingKey = Secret("")
        /// How long a served-input URL stays good.
        public var stagingURLSeconds = 3600

        enum CodingKeys: String, CodingKey {
            case host, port
            case maxListBytes = "max_list_bytes"
            case maxConcurrentFullLists = "max_concurrent_full_lists"
            case idleTimeoutSeconds = "idle_timeout_seconds"
            case maxConnections = "max_connections"
            case maxBodyBytes = "max_body_bytes"
            case swaggerUIDir = "swagger_ui_dir"
            case corsAllowedOrigins = "cors_allowed_origins"
            case publicURL = "public_url"
            case stagingKey = "staging_key"
            case stagingURLSeconds = "staging_url_seconds"
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
        public var maxTags = 256
        public var maxTagBytes = 4096
        /// Tasks one owner may have that have not finished (all tasks together without authentication); 0: no limit.
        public var maxActivePerOwner = 0

        enum CodingKeys: String, CodingKey {
            case maxTags = "max_tags"
            case maxTagBytes = "max_tag_bytes"
            case maxActivePerOwner = "max_active_per_owner"
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

    /// One place tasks run (a `[[backends]]` table).
    public struct Backend: Codable, Sendable, Equatable {
        /// What kind of server it is.
        public enum Kind: String, Codable, Sendable, CaseIterable {
            /// A Pulsar server over its REST API.
            case pulsar
            /// Another TES 1.1 server (gateway mode): `token` is sent as a bearer token, or `user` and `password`
            /// as HTTP Basic.
            case tes
        }

        /// Stored with each task placed here: renaming a host must not fail in-flight tasks, so it is not the URL.
        public var name: String
        public var kind = Kind.pulsar
        public var url: String
        /// The server's token; better `token_file`, or `TESP_BACKENDS` from a secret store.
        public var token = Secret("")
        /// A file holding the token (read at start-up).
        public var tokenFile = ""
        /// kind tes: HTTP Basic credentials for the remote server.
        public var user = ""
        public var password = Secret("")
        /// Admission: at most this many jobs in flight here; 0: no limit.
        public var maxJobs = 0
        /// What one job may ask for here; a task asking for more goes elsewhere, or is refused if it fits nowhere.
        public var cpuCores: Int?
        public var ramGb: Double?
        public var diskGb: Double?
        /// Labels a task can ask for with `backend_parameters` `tesp_label_<key>=<value>`.
        public var labels: [String: String] = [:]
        /// Storage hosts near this backend: `engine.placement = "data-locality"` places a task where most of its
        /// input bytes are near.
        public var near: [String] = []
        /// kind pulsar: who moves the files (a queue backend: always the Pulsar host).
        public var staging = Staging.tesp
        /// kind pulsar: how TESP reaches the server: its REST API at `url`, or a message broker at `url`
        /// (`amqp://user@host:5672/vhost`, `amqps://…`), through which Pulsar in message-queue mode takes jobs.
        public var transport = Transport.rest
        /// transport amqp: the broker's password (better `password_file`); a password in `url` also works.
        /// kind tes: the remote server's HTTP Basic password.
        public var passwordFile = ""
        /// transport amqp: Pulsar's manager name (its queues are named after it), or `amqp_key_prefix` as in
        /// Pulsar's app.yml.
        public var manager = "_default_"
        public var amqpKeyPrefix = ""
        /// transport amqp with amqps: a CA bundle for the broker's certificate, and whether to check it.
        public var amqpCAFile = ""
        public var amqpVerify = true

        /// How TESP talks to a Pulsar server.
        public enum Transport: String, Codable, Sendable, CaseIterable {
            case rest
            case amqp
        }
        /// Whether this backend may be handed secrets: with `staging = "pulsar"`, pre-signed S3 URLs to fetch
        /// inputs and send outputs with (otherwise TESP moves those files itself).
        public var trusted = false

        /// Who moves a Pulsar job's files.
        public enum Staging: String, Codable, Sendable, CaseIterable {
            /// Every file passes through TESP.
            case tesp
            /// The Pulsar host fetches the inputs and sends the FILE outputs it can reach by itself (plain
            /// http(s), FTP without a password; S3 pre-signed on a trusted backend); the rest passes through TESP.
            case pulsar
        }

        public init(name: String, url: String) {
            self.name = name
            self.url = url
        }

        enum CodingKeys: String, CodingKey, CaseIterable {
            case name, kind, url, token, labels, user, password, near, staging, trusted, transport, manager
            case tokenFile = "token_file"
            case passwordFile = "password_file"
            case amqpKeyPrefix = "amqp_key_prefix"
            case amqpCAFile = "amqp_ca_file"
            case amqpVerify = "amqp_verify"
            case maxJobs = "max_jobs"
            case cpuCores = "cpu_cores"
            case ramGb = "ram_gb"
            case diskGb = "disk_gb"
        }

        public init(from decoder: any Decoder) throws {
            // A table in an array is not checked against the defaults: unknown keys are refused here.
            let names = try decoder.container(keyedBy: AnyKey.self).allKeys.map(\.stringValue)
            if let unknown = names.first(where: { CodingKeys(rawValue: $0) == nil }) {
                throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "unknown key '\(unknown)'"))
            }
            let c = try decoder.container(keyedBy: CodingKeys.self)
            name = try c.decode(String.self, forKey: .name)
            kind = try c.decodeIfPresent(Kind.self, forKey: .kind) ?? .pulsar
            url = try c.decode(String.self, forKey: .url)
            token = try c.decodeIfPresent(Secret.self, forKey: .token) ?? Secret("")
            tokenFile = try c.decodeIfPresent(String.self, forKey: .tokenFile) ?? ""
            user = try c.decodeIfPresent(String.self, forKey: .user) ?? ""
            password = try c.decodeIfPresent(Secret.self, forKey: .password) ?? Secret("")
            maxJobs = try c.decodeIfPresent(Int.self, forKey: .maxJobs) ?? 0
            cpuCores = try c.decodeIfPresent(Int.self, forKey: .cpuCores)
            ramGb = try c.decodeIfPresent(Double.self, forKey: .ramGb)
            diskGb = try c.decodeIfPresent(Double.self, forKey: .diskGb)
            labels = try c.decodeIfPresent([String: String].self, forKey: .labels) ?? [:]
            near = try c.decodeIfPresent([String].self, forKey: .near) ?? []
            staging = try c.decodeIfPresent(Staging.self, forKey: .staging) ?? .tesp
            trusted = try c.decodeIfPresent(Bool.self, forKey: .trusted) ?? false
            transport = try c.decodeIfPresent(Transport.self, forKey: .transport) ?? .rest
            passwordFile = try c.decodeIfPresent(String.self, forKey: .passwordFile) ?? ""
            manager = try c.decodeIfPresent(String.self, forKey: .manager) ?? "_default_"
            amqpKeyPrefix = try c.decodeIfPresent(String.self, forKey: .amqpKeyPrefix) ?? ""
            amqpCAFile = try c.decodeIfPresent(String.self, forKey: .amqpCAFile) ?? ""
            amqpVerify = try c.decodeIfPresent(Bool.self, forKey: .amqpVerify) ?? true
        }

        private struct AnyKey: CodingKey {
            var stringValue: String
            var intValue: Int? { nil }
            init(stringValue: String) { self.stringValue = stringValue }
            init?(intValue: Int) { nil }
        }
    }

    /// The Pulsar servers tasks run on (deprecated: use `[[backends]]`; used only when there are none).
    public struct Pulsar: Codable, Sendable, Equatable {
        /// Base URLs; each server gets new tasks, the least busy first.
        public var urls = ["http://127.0.0.1:8913"]
        /// Pulsar's `private_token`, for every server (set `TESP_PULSAR__TOKEN` or `TESP_PULSAR__TOKEN_FILE`).
        public var token = Secret("")
        /// Per-server tokens in the order of `urls`; empty: `token` for all.
        public var tokens: [Secret] = []
        /// Timeout of one REST call (file transfers have their own).
        public var timeoutSeconds = 30.0

        enum CodingKeys: String, CodingKey {
            case urls, token, tokens
            case timeoutSeconds = "timeout_seconds"
        }
    }

    /// How tasks are run and followed.
    public struct Engine: Codable, Sendable, Equatable {
        /// Whether this process runs tasks; false serves the API only (tasks wait QUEUED for a process that runs them).
        public var enabled = true
        /// docker, podman, singularity, apptainer or bwrap (bubblewrap: host filesystem, image ignored).
        public var runtime = "docker"
        /// The runtime's program on the Pulsar host; empty: the runtime's name.
        public var runtimeExecutable = ""
        /// Whether executors may use the network: false gives them none (docker/podman `--network=none`,
        /// apptainer `--network=none`, bwrap `--unshare-net`); true gives them the runtime's default network, which
        /// for bwrap is the host's, with every service on its loopback.
        public var executorNetwork = false
        /// bwrap only: `uid:gid` executors run as when Pulsar runs the job as root.
        public var sandboxUser = "65534:65534"
        public var pollInitialMs = 50
        public var pollMaxSeconds = 10.0
        public var maxConcurrentPolls = 32
        public var maxStartingTasks = 16
        public var scanIntervalSeconds = 5.0
        /// How long Pulsar may be unreachable before a task fails.
        public var transientGraceSeconds = 600.0
        /// Tasks running longer are stopped (SYSTEM_ERROR); 0: no limit.
        public var maxTaskSeconds = 0.0
        /// Keep the Pulsar job directory of tasks that did not complete.
        public var keepFailedJobs = false
        /// How often a running job shows it is alive.
        public var heartbeatSeconds = 10
        /// A running job silent for this long has died (its task fails).
        public var heartbeatTimeoutSeconds = 120.0
        /// How a backend is chosen for a task.
        public var placement = Placement.leastLoaded
        /// The most status calls a second to one backend, whatever the number of tasks; 0: no limit.
        public var statusCallsPerSecond = 50.0
        /// How often each backend's health is checked, and how long a check may take.
        public var healthIntervalSeconds = 10.0
        public var healthTimeoutSeconds = 5.0
        /// The longest a graceful shutdown waits for the tasks being driven to stop where they are (they resume at
        /// the next start).
        public var shutdownSeconds = 30.0
        /// Queue backends: a job Pulsar has said nothing about for this long is asked for its status (Pulsar
        /// publishes every change by itself: this is the safety net for a lost message)...
        public var queueStatusRequestSeconds = 1800.0
        /// ...and a status request Pulsar leaves unanswered this long counts as Pulsar not answering.
        public var queueAnswerSeconds = 120.0
        /// A task's lease: engine processes sharing one store each drive only the tasks they hold; the tasks of a
        /// process that died are taken by the others within this time and a scan interval.
        public var leaseSeconds = 30.0

        /// The placement policies (see the README).
        public enum Placement: String, Codable, Sendable, CaseIterable {
            case leastLoaded = "least-loaded"
            case roundRobin = "round-robin"
            case fitFirst = "fit-first"
            case dataLocality = "data-locality"
        }

        enum CodingKeys: String, CodingKey {
            case enabled, runtime
            case runtimeExecutable = "runtime_executable"
            case executorNetwork = "executor_network"
            case sandboxUser = "sandbox_user"
            case pollInitialMs = "poll_initial_ms"
            case pollMaxSeconds = "poll_max_seconds"
            case maxConcurrentPolls = "max_concurrent_polls"
            case maxStartingTasks = "max_starting_tasks"
            case scanIntervalSeconds = "scan_interval_seconds"
            case transientGraceSeconds = "transient_grace_seconds"
            case maxTaskSeconds = "max_task_seconds"
            case keepFailedJobs = "keep_failed_jobs"
            case heartbeatSeconds = "heartbeat_seconds"
            case heartbeatTimeoutSeconds = "heartbeat_timeout_seconds"
            case placement
            case statusCallsPerSecond = "status_calls_per_second"
            case healthIntervalSeconds = "health_interval_seconds"
            case healthTimeoutSeconds = "health_timeout_seconds"
            case shutdownSeconds = "shutdown_seconds"
            case queueStatusRequestSeconds = "queue_status_request_seconds"
            case queueAnswerSeconds = "queue_answer_seconds"
            case leaseSeconds = "lease_seconds"
        }
    }

    /// Moving task data between storage (FTP, HTTP, local files) and Pulsar.
    public struct Transfer: Codable, Sendable, Equatable {
        /// Transfers in flight at once, over all tasks.
        public var maxConcurrent = 8
        /// Files of one task transferred at once.
        public var maxPerTask = 4
        /// Files of one owner's tasks transferred at once (with authentication; 0: no limit), so that one user
        /// cannot hold every transfer thread.
        public var maxPerOwner = 4
        /// How often a transient failure (reset, timeout, FTP 421/425/450, HTTP 5xx) is retried.
        public var retries = 4
        /// Where files pass through between storage and Pulsar.
        public var stagingDirectory = "/tmp/tesp-staging"
        /// Directories `file://` URLs may point into; empty: `file://` is refused.
        public var fileAllowedDirectories: [String] = []
        /// A netrc file with per-host credentials; empty: none.
        public var netrcFile = ""
        /// Per-server credentials as URLs (`ftp://user:password@host:21`); set them through
        /// `TESP_TRANSFER__CREDENTIALS` or `TESP_TRANSFER__CREDENTIALS_FILE`, not in the repository.
        public var credentials: [Secret] = []
        /// Entries one DIRECTORY input may list (all levels together), and how deep it may go.
        public var maxListingEntries = 100_000
        public var maxListingDepth = 32
        /// A transfer slower than this for `low_speed_seconds` is abandoned (and retried).
        public var lowSpeedBytesPerSecond = 1024
        public var lowSpeedSeconds = 60
        /// The longest one file's transfer may take; 0: no limit.
        public var maxSecondsPerFile = 21600
        /// The largest input or output file TESP moves; 0: no limit.
        public var maxFileBytes: Int64 = 0
        /// Networks (CIDR) no transfer may connect to, checked after DNS and redirects.
        public var deniedNetworks = ["169.254.0.0/16", "fe80::/10", "fd00:ec2::254/128"]
        enum CodingKeys: String, CodingKey {
            case deniedNetworks = "denied_networks"
            case retries, credentials
            case maxListingEntries = "max_listing_entries"
            case maxListingDepth = "max_listing_depth"
            case lowSpeedBytesPerSecond = "low_speed_bytes_per_second"
            case lowSpeedSeconds = "low_speed_seconds"
            case maxSecondsPerFile = "max_seconds_per_file"
            case maxFileBytes = "max_file_bytes"
            case maxConcurrent = "max_concurrent"
            case maxPerTask = "max_per_task"
            case maxPerOwner = "max_per_owner"
            case stagingDirectory = "staging_directory"
            case fileAllowedDirectories = "file_allowed_directories"
            case netrcFile = "netrc_file"
        }
    }

    /// `s3://bucket/key` URLs: the store (AWS, or an S3-compatible one) and its keys. Without keys in the
    /// settings, the standard `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN` variables are
    /// read; without any, requests go unsigned (public buckets). Keys for one bucket can also be given as a
    /// `transfer.credentials` entry `s3://KEY_ID:SECRET@bucket`.
    public struct S3: Codable, Sendable, Equatable {
        /// Base URL of an S3-compatible store (`http://minio:9000`); empty: AWS (`AWS_ENDPOINT_URL_S3` or
        /// `AWS_ENDPOINT_URL` when set).
        public var endpoint = ""
        /// The region requests are signed for; empty: `AWS_REGION`, `AWS_DEFAULT_REGION`, else us-east-1.
        public var region = ""
        /// auto (virtual-host on AWS, path-style elsewhere), path or virtual.
        public var addressing = "auto"
        public var accessKeyID = Secret("")
        public var secretAccessKey = Secret("")
        public var sessionToken = Secret("")
        /// Outputs larger than this go up as multipart uploads in parts of this size (at least 5).
        public var multipartPartMib = 64
        /// How long a pre-signed URL handed to a backend (staging = "pulsar", trusted) stays good.
        public var presignSeconds = 3600

        enum CodingKeys: String, CodingKey {
            case endpoint, region, addressing
            case presignSeconds = "presign_seconds"
            case accessKeyID = "access_key_id"
            case secretAccessKey = "secret_access_key"
            case sessionToken = "session_token"
            case multipartPartMib = "multipart_part_mib"
        }
    }

    /// `gs://bucket/key` through Google Cloud Storage's S3-compatible XML API, signed with an HMAC key.
    public struct GS: Codable, Sendable, Equatable {
        public var endpoint = "https://storage.googleapis.com"
        /// An HMAC key's access id and secret (Cloud Storage → Settings → Interoperability); none: unsigned.
        public var hmacAccessID = Secret("")
        public var hmacSecret = Secret("")

        enum CodingKeys: String, CodingKey {
            case endpoint
            case hmacAccessID = "hmac_access_id"
            case hmacSecret = "hmac_secret"
        }
    }

    /// `drs://host/object_id` inputs (GA4GH DRS 1.x).
    public struct DRS: Codable, Sendable, Equatable {
        /// Bearer tokens per DRS host, as `host=token` entries; set `TESP_DRS__TOKENS` or `_FILE`, not here.
        public var tokens: [Secret] = []
        /// Hosts (`host` or `host:port`) resolved over http:// instead of https:// (private networks only).
        public var plainHTTPHosts: [String] = []

        enum CodingKeys: String, CodingKey {
            case tokens
            case plainHTTPHosts = "plain_http_hosts"
        }
    }

    /// Who may call the task endpoints, and which tasks each caller sees.
    public struct Auth: Codable, Sendable, Equatable {
        /// none (anyone, anonymous: local development), basic (HTTP Basic) or oidc (bearer JWTs).
        public var mode = "none"
        /// all (everyone sees every task), owner (callers see the tasks they created) or owner-or-admin (and admins
        /// see every task). Not used with mode none.
        public var policy = "owner-or-admin"
        /// Subjects (user names, or the tokens' subject claim) that are admins.
        public var admins: [String] = []
        /// The realm named in `WWW-Authenticate`.
        public var realm = "TESP"
        public var basic = Basic()
        public var oidc = OIDC()

        /// HTTP Basic.
        public struct Basic: Codable, Sendable, Equatable {
            /// `name:bcrypt-hash` entries (`htpasswd -nbB name password`, or `tesp hash-password`); set them through
            /// `TESP_AUTH__BASIC__USERS` or `TESP_AUTH__BASIC__USERS_FILE` (an htpasswd file).
            public var users: [Secret] = []
        }

        /// OpenID Connect bearer tokens (JWTs signed by the issuer).
        public struct OIDC: Codable, Sendable, Equatable {
            /// The issuer (`iss`) tokens must carry; its discovery document gives the keys unless `jwks_url` is set.
            public var issuer = ""
            /// Tokens must name one of these in `aud` (the client id registered for TESP).
            public var audiences: [String] = []
            /// The issuer's JWK set; empty: `jwks_uri` of `<issuer>/.well-known/openid-configuration`.
            public var jwksURL = ""
            /// Signature algorithms accepted (RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512).
            public var algorithms = ["RS256", "ES256"]
            /// The claim that names the caller (owner of tasks); a dotted path reaches into objects.
            public var subjectClaim = "sub"
            /// The claim that lists the caller's groups; a dotted path reaches into objects (`realm_access.roles`).
            public var groupsClaim = "groups"
            /// Callers in one of these groups are admins.
            public var adminGroups: [String] = []
            /// Clock skew allowed for `exp` and `nbf`.
            public var leewaySeconds = 60.0
            /// How often the keys are fetched again (and at once, at most every 10 s, for an unknown key id).
            public var jwksRefreshSeconds = 3600.0

            enum CodingKeys: String, CodingKey {
                case issuer, audiences, algorithms
                case jwksURL = "jwks_url"
                case subjectClaim = "subject_claim"
                case groupsClaim = "groups_claim"
                case adminGroups = "admin_groups"
                case leewaySeconds = "leeway_seconds"
                case jwksRefreshSeconds = "jwks_refresh_seconds"
            }
        }
    }

    /// Logging.
    public struct Log: Codable, Sendable, Equatable {
        /// trace, debug, info, notice, warning, error or critical.
        public var level = "info"
        /// text (one line per event, for people) or json (one JSON object per line, for log collectors).
        public var format = "text"
    }

    public var server = Server()
    public var db = Database()
    public var serviceInfo = ServiceInfo()
    public var tasks = Tasks()
    public var pulsar = Pulsar()
    /// Where tasks run; empty: the servers of `pulsar.urls`.
    public var backends: [Backend] = []
    public var engine = Engine()
    public var transfer = Transfer()
    public var s3 = S3()
    public var gs = GS()
    public var drs = DRS()
    public var auth = Auth()
    public var log = Log()

    public init() {}

    enum CodingKeys: String, CodingKey {
        case server, db, tasks, pulsar, backends, engine, transfer, s3, gs, drs, auth, log
        case serviceInfo = "service_info"
    }
}
