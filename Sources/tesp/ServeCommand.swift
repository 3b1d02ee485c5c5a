import AMQP
import ArgumentParser
import AsyncHTTPClient
import Auth
import Client
import Config
import Engine
import Foundation
import Hummingbird
import struct HummingbirdCore.MaximumAvailableConnections
import Logging
import Metrics
import NIOCore
import NIOPosix
import Prometheus
import JobScript
import Pulsar
import Server
import ServiceLifecycle
import TES
import TaskStore
import Transfer

/// `tesp serve`: reads the settings once, wires the store and the HTTP API together, and runs until SIGTERM/SIGINT.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the TES server."
    )

    @Option(help: "Settings file (default: $TESP_CONFIG, else ./settings.toml if it exists).")
    var config: String?

    @Option(help: "Settings profile (default: $TESP_PROFILE, else 'default').")
    var profile: String?

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        let settings: Settings
        do {
            settings = try SettingsLoader.load(
                path: config ?? environment["TESP_CONFIG"] ?? Self.settingsFileInWorkingDirectory(),
                profile: profile ?? environment["TESP_PROFILE"] ?? SettingsLoader.defaultProfile,
                environment: environment
            )
        } catch {
            throw ValidationError("settings: \(error)")
        }
        let level = Logger.Level(rawValue: settings.log.level) ?? .info
        let jsonLogs = settings.log.format == "json"
        LoggingSystem.bootstrap { label in
            if jsonLogs { return JSONLogHandler(label: label, level: level) }
            return TextLogHandler(label: label, level: level)
        }
        let logger = Logger(label: "tesp")
        let metrics = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: metrics))

        let store = try MongoTaskStore(
            .init(
                uri: settings.db.mongodbURI.value,
                database: settings.db.database,
                collection: settings.db.collection,
                poolSize: settings.db.poolSize
            ),
            logger: logger
        )
        let http = HTTPClient(eventLoopGroupProvider: .singleton)
        let transfers = Transfers(try Self.transferConfiguration(settings), logger: logger)
        var engineConfiguration = Self.engineConfiguration(settings)
        let servedInputs = Self.servedInputURLs(settings, logger: logger)
        engineConfiguration.servedInputs = servedInputs
        let factory = BackendFactory(configuration: engineConfiguration, transfers: transfers)
        if settings.backends.isEmpty {
            logger.warning("pulsar.urls is deprecated and will go in the next release: configure [[backends]] tables instead")
        }
        var queueServices: [any Service] = []
        var queueUpdaters: [any Service] = []
        let backends = BackendRegistry(
            try Self.backendSettings(settings).map { backend in
                if backend.transport == .amqp {
                    let queue = PulsarAMQPQueue(
                        name: backend.name,
                        url: try Self.brokerURL(of: backend),
                        tls: AMQPTLS(caFile: backend.amqpCAFile.nilIfEmpty, verify: backend.amqpVerify),
                        names: PulsarQueueNames(manager: backend.manager, keyPrefix: backend.amqpKeyPrefix.nilIfEmpty),
                        consumeUpdates: settings.engine.enabled,
                        logger: logger
                    )
                    let made = factory.pulsarQueue(queue, trusted: backend.trusted, logger: logger)
                    queueServices.append(queue.client)
                    queueUpdaters.append(made.updates)
                    return BackendRegistry.Entry(backend: made.backend, description: Self.description(of: backend))
                }
                if backend.kind == .tes {
                    let token = try Self.token(of: backend)
                    let remote = TESClient(
                        .init(
                            server: backend.url,
                            token: token.nilIfEmpty,
                            user: backend.user.nilIfEmpty,
                            password: backend.password.value.nilIfEmpty,
                            timeout: .milliseconds(Int64(settings.pulsar.timeoutSeconds * 1000))
                        ),
                        http: http
                    )
                    return BackendRegistry.Entry(backend: factory.tes(name: backend.name, remote: remote), description: Self.description(of: backend))
                }
                let pulsar = PulsarClient(
                    .init(
                        name: backend.name,
                        url: backend.url,
                        token: try Self.token(of: backend),
                        timeout: .milliseconds(Int64(settings.pulsar.timeoutSeconds * 1000))
                    ),
                    http: http
                )
                return BackendRegistry.Entry(backend: factory.pulsarREST(pulsar, staging: backend.staging == .pulsar ? .pulsar(trusted: backend.trusted) : .tesp), description: Self.description(of: backend))
            },
            statusCallsPerSecond: engineConfiguration.statusCallsPerSecond
        )
        let engine = Engine(
            store: store,
            backends: backends,
            configuration: engineConfiguration,
            inputSizing: TransferInputSizing(transfers: transfers),
            logger: logger
        )
        var serverConfiguration = Self.serverConfiguration(settings, storage: transfers.storage)
        let descriptions = backends.descriptions
        serverConfiguration.placementProblem = { task in BackendDescription.placementProblem(of: task, on: descriptions) }
        serverConfiguration.servedInputs = servedInputs.map { ($0, transfers) }
        let engineEnabled = settings.engine.enabled
        serverConfiguration.readinessChecks =
            [ReadinessCheck(name: "mongodb") { try await store.ping() }]
            + backends.entries.map { entry in
                let name = entry.description.name
                return ReadinessCheck(name: "backend \(name)") {
                    // The engine's health checker keeps the answer; an API-only process asks itself.
                    if engineEnabled {
                        if let failure = backends.unavailable[name] { throw ReadinessFailure(failure) }
                    } else {
                        _ = try await entry.backend.health()
                    }
                }
            }
        serverConfiguration.metricsText = { metrics.emitToString() }
        let (authentication, passwordThreads) = try Self.authentication(settings, http: http, logger: logger)
        defer { passwordThreads?.shutdownGracefully { _ in } }
        serverConfiguration.authentication = authentication
        serverConfiguration.access = Self.accessRules(settings)
        logger.info(
            "Task endpoints authenticate callers",
            metadata: [
                "auth.mode": "\(settings.auth.mode)",
                "auth.policy": "\(settings.auth.mode == "none" ? "all" : settings.auth.policy)",
                "auth.oidc.issuer": "\(settings.auth.mode == "oidc" ? settings.auth.oidc.issuer : "")",
            ]
        )
        if settings.engine.enabled {
            logger.info(
                "Engine drives the tasks whose leases it holds",
                metadata: ["lease.holder": "\(engine.leaseHolder)", "engine.lease_seconds": "\(settings.engine.leaseSeconds)"]
            )
        }
        let router = buildRouter(
            store: store,
            events: settings.engine.enabled ? engine : nil,
            configuration: serverConfiguration
        )
        var app = Application(
            router: router,
            // Idle connections are closed and connections are capped (above the cap, new ones wait in the listen
            // backlog): a client that opens sockets and sends nothing cannot use up the file descriptors.
            server: .http1(configuration: .init(idleTimeout: .milliseconds(Int64(settings.server.idleTimeoutSeconds * 1000)))),
            configuration: .init(
                address: .hostname(settings.server.host, port: settings.server.port),
                serverName: "TESP",
                availableConnectionsDelegate: MaximumAvailableConnections(settings.server.maxConnections)
            ),
            // Shut down in reverse: the engine stops before the broker connections it publishes on.
            services: [store] + queueServices + (settings.engine.enabled ? [engine] + queueUpdaters : []),
            logger: logger
        )
        let startupTimeout = settings.db.startupTimeoutSeconds
        app.beforeServerStarts {
            try await Self.prepareStore(store, timeout: startupTimeout, logger: logger)
        }
        do {
            try await app.runService()
        } catch {
            try? await http.shutdown()
            try? await transfers.shutdown()
            throw error
        }
        try await http.shutdown()
        try await transfers.shutdown()
    }

    static func transferConfiguration(_ settings: Settings) throws -> Transfers.Configuration {
        let denied: DeniedNetworks
        do {
            denied = try DeniedNetworks(cidrs: settings.transfer.deniedNetworks)
        } catch {
            throw SettingsError("setting 'transfer.denied_networks': \(error)")
        }
        // One part size for both S3 kinds: gs:// is the S3 code path.
        let partBytes = Int64(settings.s3.multipartPartMib) * 1024 * 1024
        return Transfers.Configuration(
            maxConcurrent: settings.transfer.maxConcurrent,
            retries: settings.transfer.retries,
            allowedFileDirectories: settings.transfer.fileAllowedDirectories,
            netrcFile: settings.transfer.netrcFile,
            credentials: settings.transfer.credentials.compactMap { StorageURL($0.value) },
            limits: TransferLimits(
                maxListingEntries: settings.transfer.maxListingEntries,
                maxListingDepth: settings.transfer.maxListingDepth,
                lowSpeedBytesPerSecond: settings.transfer.lowSpeedBytesPerSecond,
                lowSpeedSeconds: settings.transfer.lowSpeedSeconds,
                maxSecondsPerFile: settings.transfer.maxSecondsPerFile,
                maxFileBytes: settings.transfer.maxFileBytes,
                deniedNetworks: denied
            ),
            s3: S3Configuration.resolving(
                endpoint: settings.s3.endpoint,
                region: settings.s3.region,
                addressing: S3Configuration.Addressing(rawValue: settings.s3.addressing) ?? .auto,
                accessKeyID: settings.s3.accessKeyID.value,
                secretAccessKey: settings.s3.secretAccessKey.value,
                sessionToken: settings.s3.sessionToken.value,
                partBytes: partBytes,
                presignLifetimeSeconds: settings.s3.presignSeconds,
                environment: ProcessInfo.processInfo.environment
            ),
            gs: .googleCloudStorage(
                endpoint: settings.gs.endpoint,
                accessID: settings.gs.hmacAccessID.value,
                secret: settings.gs.hmacSecret.value,
                partBytes: partBytes,
                presignLifetimeSeconds: settings.s3.presignSeconds
            ),
            drs: DRSConfiguration(
                tokens: Dictionary(
                    settings.drs.tokens.compactMap { entry -> (String, String)? in
                        let parts = entry.value.split(separator: "=", maxSplits: 1)
                        return parts.count == 2 ? (String(parts[0]), String(parts[1])) : nil
                    },
                    uniquingKeysWith: { first, _ in first }
                ),
                plainHTTPHosts: Set(settings.drs.plainHTTPHosts)
            )
        )
    }

    /// What service-info lists under `storage`: the configured locations, the servers TESP has credentials for,
    /// and the directories allowed for `file://` (never a password).
    static func storageLocations(_ settings: Settings) -> [String] {
        var locations = settings.serviceInfo.storage
        locations += settings.transfer.credentials.compactMap { StorageURL($0.value)?.origin }.map { $0 + "/" }
        locations += settings.transfer.fileAllowedDirectories.map { "file://" + ($0.hasSuffix("/") ? $0 : $0 + "/") }
        var seen: Set<String> = []
        return locations.filter { seen.insert($0).inserted }
    }

    /// The `backend_parameters` keys tasks may use: the configured ones and those placement reads.
    static func backendParameters(_ settings: Settings) -> [String] {
        var seen: Set<String> = []
        let placement = BackendDescription.placementParameterKeys(for: backendSettings(settings).map(description(of:)))
        return (settings.tasks.backendParameters + placement).filter { seen.insert($0.lowercased()).inserted }
    }

    /// The `[[backends]]` tables, or, when there are none, one per `pulsar.urls` entry, named by the URL's host
    /// and port as TESP named them before (so that tasks placed then still find theirs).
    static func backendSettings(_ settings: Settings) -> [Settings.Backend] {
        guard settings.backends.isEmpty else { return settings.backends }
        return settings.pulsar.urls.enumerated().map { index, url in
            let token = settings.pulsar.tokens.isEmpty ? settings.pulsar.token : settings.pulsar.tokens[index]
            let name = URLComponents(string: url).map { "\($0.host ?? url):\($0.port.map(String.init) ?? "")" } ?? url
            var backend = Settings.Backend(name: name, url: url)
            backend.token = token
            return backend
        }
    }

    static func token(of backend: Settings.Backend) throws -> String {
        guard !backend.tokenFile.isEmpty else { return backend.token.value }
        return try secret(inFile: backend.tokenFile, key: "token_file", of: backend)
    }

    /// A queue backend's broker URL, with the password from `password` or `password_file` when set.
    static func brokerURL(of backend: Settings.Backend) throws -> AMQPURL {
        var url: AMQPURL
        do {
            url = try AMQPURL(backend.url)
        } catch {
            throw SettingsError("setting 'backends' (\(backend.name)).url: \(error)")
        }
        if !backend.password.value.isEmpty { url.password = backend.password.value }
        if !backend.passwordFile.isEmpty { url.password = try secret(inFile: backend.passwordFile, key: "password_file", of: backend) }
        return url
    }

    /// A secret a backend's `key` names the file of, without the file's final line breaks.
    private static func secret(inFile path: String, key: String, of backend: Settings.Backend) throws -> String {
        do {
            var text = try String(contentsOfFile: path, encoding: .utf8)
            while text.hasSuffix("\n") || text.hasSuffix("\r") { text.removeLast() }
            return text
        } catch {
            throw SettingsError("setting 'backends' (\(backend.name)): cannot read \(key) \(path)")
        }
    }

    static func description(of backend: Settings.Backend) -> BackendDescription {
        BackendDescription(
            name: backend.name,
            maxJobs: backend.maxJobs > 0 ? backend.maxJobs : nil,
            cpuCores: backend.cpuCores,
            ramGb: backend.ramGb,
            diskGb: backend.diskGb,
            labels: backend.labels,
            near: backend.near
        )
    }

    /// Where backends fetch inputs from this server, if `server.public_url` is set; without `server.staging_key`
    /// the URLs are signed with a random key, good only in this process.
    static func servedInputURLs(_ settings: Settings, logger: Logger) -> ServedInputURLs? {
        guard !settings.server.publicURL.isEmpty else { return nil }
        var key = Array(settings.server.stagingKey.value.utf8)
        if key.isEmpty {
            var generator = SystemRandomNumberGenerator()
            key = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
            logger.notice("server.staging_key is not set: input URLs for backends are signed with a key of this process (set it when replicas share server.public_url)")
        }
        return ServedInputURLs(baseURL: settings.server.publicURL, key: key, lifetimeSeconds: settings.server.stagingURLSeconds)
    }

    static func engineConfiguration(_ settings: Settings) -> EngineConfiguration {
        let engine = settings.engine
        return EngineConfiguration(
            runtime: ContainerRuntime(
                kind: ContainerRuntime.Kind(rawValue: engine.runtime) ?? .docker,
                executable: engine.runtimeExecutable,
                network: engine.executorNetwork,
                sandboxUser: settings.sandboxUserIDs.map { .init(uid: $0.uid, gid: $0.gid) } ?? .nobody
            ),
            pollInitial: .milliseconds(engine.pollInitialMs),
            pollMax: .milliseconds(Int64(engine.pollMaxSeconds * 1000)),
            maxConcurrentPolls: engine.maxConcurrentPolls,
            maxStartingTasks: engine.maxStartingTasks,
            scanInterval: .milliseconds(Int64(engine.scanIntervalSeconds * 1000)),
            transientGrace: .milliseconds(Int64(engine.transientGraceSeconds * 1000)),
            maxTaskDuration: engine.maxTaskSeconds > 0 ? .milliseconds(Int64(engine.maxTaskSeconds * 1000)) : nil,
            keepFailedJobs: engine.keepFailedJobs,
            heartbeatInterval: .seconds(engine.heartbeatSeconds),
            heartbeatTimeout: .milliseconds(Int64(engine.heartbeatTimeoutSeconds * 1000)),
            stagingDirectory: settings.transfer.stagingDirectory,
            transfersPerTask: settings.transfer.maxPerTask,
            transfersPerOwner: settings.transfer.maxPerOwner,
            placementPolicy: PlacementPolicyKind(rawValue: engine.placement.rawValue) ?? .leastLoaded,
            healthInterval: .milliseconds(Int64(engine.healthIntervalSeconds * 1000)),
            healthTimeout: .milliseconds(Int64(engine.healthTimeoutSeconds * 1000)),
            statusCallsPerSecond: engine.statusCallsPerSecond,
            shutdownTimeout: .milliseconds(Int64(engine.shutdownSeconds * 1000)),
            queueStatusRequestInterval: .milliseconds(Int64(engine.queueStatusRequestSeconds * 1000)),
            queueAnswerTimeout: .milliseconds(Int64(engine.queueAnswerSeconds * 1000)),
            leaseDuration: .milliseconds(Int64(engine.leaseSeconds * 1000))
        )
    }

    /// Waits for the store to answer and creates its indexes, retrying until `timeout` passes.
    static func prepareStore(_ store: MongoTaskStore, timeout: Double, logger: Logger) async throws {
        let deadline = ContinuousClock.now + .seconds(timeout)
        while true {
            do {
                try await store.ensureIndexes()
                logger.info("Task store ready")
                return
            } catch let error as TaskStoreError where error.code == .unavailable && ContinuousClock.now < deadline {
                logger.warning("Task store not reachable yet; retrying", metadata: ["error": "\(error)"])
                try await Task.sleep(for: .seconds(1))
            }
        }
    }

    static func serverConfiguration(_ settings: Settings, storage: StorageRegistry) -> ServerConfiguration {
        let info = settings.serviceInfo
        let limits = TESValidationLimits(
            maxExecutors: settings.tasks.maxExecutors,
            maxInputs: settings.tasks.maxInputs,
            maxOutputs: settings.tasks.maxOutputs,
            maxVolumes: settings.tasks.maxVolumes,
            maxCPUCores: settings.tasks.maxCPUCores,
            maxRAMGb: settings.tasks.maxRAMGb,
            maxDiskGb: settings.tasks.maxDiskGb,
            supportedBackendParameters: backendParameters(settings),
            readableURLSchemes: storage.readableSchemes,
            writableURLSchemes: storage.writableSchemes,
            allowedFileDirectories: settings.transfer.fileAllowedDirectories,
            maxTags: settings.tasks.maxTags,
            maxTagBytes: settings.tasks.maxTagBytes
        )
        let serviceInfo = TESServiceInfo(
            id: info.id,
            name: info.name,
            description: info.description.nilIfEmpty,
            organization: .init(name: info.organizationName, url: info.organizationURL),
            contactUrl: info.contactURL.nilIfEmpty,
            documentationUrl: info.documentationURL.nilIfEmpty,
            environment: info.environment.nilIfEmpty,
            version: TESPVersion.current,
            // Clients parse service-info strictly (py-tes refuses unknown fields), so the schemes TESP reads go into
            // `storage` as `scheme://` entries; which of them can also be written is in the README and the 400s.
            storage: storageLocations(settings) + storage.readableSchemes.subtracting(["file"]).sorted().map { "\($0)://" },
            backendParameters: backendParameters(settings)
        )
        return ServerConfiguration(
            maxBodyBytes: settings.server.maxBodyBytes,
            limits: limits,
            serviceInfo: serviceInfo,
            swaggerUIDir: settings.server.swaggerUIDir,
            corsAllowedOrigins: Set(settings.server.corsAllowedOrigins),
            maxListBytes: settings.server.maxListBytes,
            maxConcurrentFullLists: settings.server.maxConcurrentFullLists,
            maxActiveTasksPerOwner: settings.tasks.maxActivePerOwner
        )
    }

    /// How callers prove who they are, from `[auth]`, and for HTTP Basic the threads bcrypt runs on (to shut down
    /// when the server stops).
    static func authentication(
        _ settings: Settings,
        http: HTTPClient,
        logger: Logger
    ) throws -> (RequestAuthentication, NIOThreadPool?) {
        let auth = settings.auth
        switch auth.mode {
        case "basic":
            do {
                let users = try PasswordAuthenticator.users(fromEntries: auth.basic.users.map(\.value))
                // bcrypt gets threads of its own: a flood of wrong passwords must not hold up file I/O on the
                // shared pool.
                let threads = NIOThreadPool(numberOfThreads: max(2, System.coreCount))
                threads.start()
                return (.basic(PasswordAuthenticator(users: users, threadPool: threads), realm: auth.realm), threads)
            } catch {
                throw ValidationError("settings: auth.basic.users: \(error)")
            }
        case "oidc":
            let oidc = auth.oidc
            let validation = TokenValidation(
                issuer: oidc.issuer,
                audiences: oidc.audiences,
                algorithms: Set(oidc.algorithms),
                subjectClaim: oidc.subjectClaim,
                groupsClaim: oidc.groupsClaim,
                leewaySeconds: oidc.leewaySeconds
            )
            let source = OIDCKeySource(issuer: oidc.issuer, jwksURL: oidc.jwksURL.nilIfEmpty, http: http)
            let authenticator = TokenAuthenticator(
                validation: validation,
                keys: source,
                refreshInterval: .milliseconds(Int64(oidc.jwksRefreshSeconds * 1000)),
                logger: logger
            )
            return (.bearer(authenticator, realm: auth.realm), nil)
        default:
            return (.none, nil)
        }
    }

    /// Which tasks each caller sees, from `[auth]`.
    static func accessRules(_ settings: Settings) -> AccessRules {
        guard settings.auth.mode != "none" else { return .open }
        return AccessRules(
            policy: AccessRules.Policy(rawValue: settings.auth.policy) ?? .owner,
            adminSubjects: Set(settings.auth.admins),
            adminGroups: Set(settings.auth.oidc.adminGroups)
        )
    }

    static func settingsFileInWorkingDirectory() -> String? {
        FileManager.default.fileExists(atPath: "settings.toml") ? "settings.toml" : nil
    }
}

extension String {
    var nilIfEmpty: String? { isEmpty ? nil : self }
}
