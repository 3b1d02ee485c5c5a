import Config
import Foundation
import Testing

@Suite struct SettingsLoaderTests {
    func load(
        _ toml: String?,
        profile: String = "default",
        env: [String: String] = [:],
        files: [String: String] = [:]
    )
        throws -> Settings
    {
        try SettingsLoader.load(toml: toml, source: "test.toml", profile: profile, environment: env) { path in
            guard let text = files[path] else { throw CocoaError(.fileNoSuchFile) }
            return text
        }
    }

    func failure(_ toml: String?, profile: String = "default", env: [String: String] = [:]) -> String {
        do {
            _ = try load(toml, profile: profile, env: env)
            return "loaded"
        } catch {
            return "\(error)"
        }
    }

    /// The repository's settings.toml, found from this source file's path.
    static var repositorySettings: String {
        get throws {
            let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .deletingLastPathComponent()
            return try String(contentsOf: root.appendingPathComponent("settings.toml"), encoding: .utf8)
        }
    }

    @Test func theRepositoryDefaultProfileMatchesTheBuiltInDefaults() throws {
        #expect(try load(Self.repositorySettings) == Settings())
    }

    @Test func everyRepositoryProfileLoads() throws {
        let text = try Self.repositorySettings
        let dev = try load(text, profile: "dev-docker")
        #expect(dev.server.host == "0.0.0.0")
        #expect(dev.db.mongodbURI.value.hasPrefix("mongodb://mongodb:27017"))
        let test = try load(text, profile: "test")
        #expect(test.db.database == "tesp_test")
        #expect(test.server.port == Settings().server.port)  // inherited from [default]
    }

    @Test func aProfileInheritsDefaultAndOverridesIt() throws {
        let toml = """
            [default.server]
            port = 9000
            host = "0.0.0.0"
            [special.server]
            port = 9100
            """
        let settings = try load(toml, profile: "special")
        #expect(settings.server.port == 9100)
        #expect(settings.server.host == "0.0.0.0")
        #expect(try load(toml).server.port == 9000)
    }

    @Test func environmentVariablesOverrideSingleKeys() throws {
        let settings = try load(
            "[default.db]\ndatabase = \"a\"",
            env: [
                "TESP_DB__DATABASE": "b", "TESP_SERVER__PORT": "1234", "TESP_TASKS__BACKEND_PARAMETERS": "VmSize, Gpu",
                "TESP_TASKS__MAX_RAM_GB": "12.5", "TESP_PROFILE": "ignored", "HOME": "/root",
            ]
        )
        #expect(settings.db.database == "b")
        #expect(settings.server.port == 1234)
        #expect(settings.tasks.backendParameters == ["VmSize", "Gpu"])
        #expect(settings.tasks.maxRAMGb == 12.5)
    }

    @Test func arraySettingsTakeJSONArraysNotBracketedLiterals() throws {
        let settings = try load(nil, env: ["TESP_AUTH__ADMINS": #"["admin", "ops"]"#])
        #expect(settings.auth.admins == ["admin", "ops"])
        #expect(failure(nil, env: ["TESP_AUTH__ADMINS": "[admin]"]).contains("TESP_AUTH__ADMINS"))
    }

    @Test func theSandboxUserIsANumericNonRootUidAndGid() throws {
        #expect(try load(nil, env: ["TESP_ENGINE__SANDBOX_USER": "1000:1001"]).sandboxUserIDs! == (1000, 1001))
        for bad in ["0:0", "0:65534", "nobody", "1000", "-1:5"] {
            #expect(failure(nil, env: ["TESP_ENGINE__SANDBOX_USER": bad]).contains("engine.sandbox_user"), "\(bad)")
        }
    }

    @Test func secretsCanComeFromFiles() throws {
        let settings = try load(
            nil,
            env: ["TESP_DB__MONGODB_URI_FILE": "/run/secrets/uri"],
            files: ["/run/secrets/uri": "mongodb://u:p@db:27017/\n"]
        )
        #expect(settings.db.mongodbURI.value == "mongodb://u:p@db:27017/")
        #expect("\(settings.db.mongodbURI)" == "<redacted>")
        #expect(!"\(settings)".contains("u:p@"))
    }

    @Test func unknownKeysFailNamingTheKey() {
        #expect(failure("[default.db]\nmongo_uri = \"x\"") == "test.toml [default]: unknown setting 'db.mongo_uri'")
        #expect(failure("[test.nope]\nx = 1", profile: "test") == "test.toml [test]: unknown setting 'nope'")
        #expect(failure(nil, env: ["TESP_DB__NOPE": "1"]) == "TESP_DB__NOPE: no setting 'db.nope'")
    }

    @Test func wrongTypesFailNamingTheKey() {
        #expect(failure("[default.server]\nport = \"eighty\"") == "setting 'server.port' has the wrong type: expected an integer")
        #expect(failure("[default]\nserver = 1").contains("'server' must be a table"))
        #expect(failure(nil, env: ["TESP_SERVER__PORT": "x"]) == "TESP_SERVER__PORT: expected an integer")
    }

    @Test func anUnknownProfileOrBadTOMLFails() {
        #expect(failure("[default.server]\nport = 1", profile: "prod").contains("no profile [prod]"))
        #expect(failure("[default.server\nport = 1").hasPrefix("test.toml:"))
        #expect(failure("port = 1").contains("must be a profile section"))
    }

    @Test func valuesOutOfRangeFail() {
        #expect(failure("[default.server]\nport = 70000").contains("server.port"))
        #expect(failure("[default.db]\npool_size = 0").contains("db.pool_size"))
        #expect(failure("[default.log]\nlevel = \"loud\"").contains("log.level"))
    }

    @Test func basicUsersComeFromAnHtpasswdFileOneEntryPerLine() throws {
        let hashA = "$2b$04$" + String(repeating: "a", count: 53)
        let hashB = "$2y$04$" + String(repeating: "b", count: 53)
        let settings = try load(
            "[default.auth]\nmode = \"basic\"",
            env: ["TESP_AUTH__BASIC__USERS_FILE": "/run/secrets/htpasswd"],
            files: ["/run/secrets/htpasswd": "alice:\(hashA)\nbob:\(hashB)\n"]
        )
        #expect(settings.auth.basic.users.map(\.value) == ["alice:\(hashA)", "bob:\(hashB)"])
        #expect(!"\(settings)".contains(hashA))
    }

    @Test func authSettingsThatCannotWorkFailNamingTheKey() {
        #expect(failure("[default.auth]\nmode = \"kerberos\"").contains("auth.mode"))
        #expect(failure("[default.auth]\npolicy = \"everyone\"").contains("auth.policy"))
        #expect(failure("[default.auth]\nmode = \"basic\"").contains("auth.basic.users"))
        #expect(failure("[default.auth]\nmode = \"oidc\"").contains("auth.oidc.issuer"))
        #expect(
            failure("[default.auth]\nmode = \"oidc\"\n[default.auth.oidc]\nissuer = \"https://id.example.org\"")
                .contains("auth.oidc.audiences")
        )
        #expect(failure("[default.auth.oidc]\nalgorithms = [\"HS256\"]").contains("auth.oidc.algorithms"))
        #expect(failure("[default.auth.oidc]\nalgorithms = [\"none\"]").contains("auth.oidc.algorithms"))
        let leaked = failure(nil, env: ["TESP_AUTH__BASIC__USERS": "alice:plaintext-password"])
        #expect(leaked.contains("auth.basic.users[0]"))
        #expect(!leaked.contains("plaintext-password"))
        #expect(failure("[default.log]\nformat = \"xml\"").contains("log.format"))
    }
}

@Suite struct BackendSettingsTests {
    let base = SettingsLoaderTests()

    @Test func backendTablesAreReadWithTheirLimitsAndLabels() throws {
        let settings = try base.load(
            """
            [[default.backends]]
            name = "site-a"
            url = "https://pulsar.a.example:8913"
            token_file = "/run/secrets/a"
            max_jobs = 200
            cpu_cores = 64
            ram_gb = 256.0
            labels = { site = "a", gpu = "none" }

            [[default.backends]]
            name = "site-b"
            url = "http://pulsar.b.example:8913"
            staging = "pulsar"
            trusted = true
            """
        )
        #expect(settings.backends.map(\.name) == ["site-a", "site-b"])
        #expect(settings.backends[0].maxJobs == 200 && settings.backends[0].cpuCores == 64 && settings.backends[0].ramGb == 256)
        #expect(settings.backends[0].labels == ["site": "a", "gpu": "none"] && settings.backends[0].kind == .pulsar)
        #expect(settings.backends[1].maxJobs == 0 && settings.backends[1].tokenFile.isEmpty)
        #expect(settings.backends[0].staging == .tesp && !settings.backends[0].trusted)
        #expect(settings.backends[1].staging == .pulsar && settings.backends[1].trusted)
    }

    @Test func queueBackendsAreReadAndCheckedNamingTheKey() throws {
        let settings = try base.load(
            """
            [[default.backends]]
            name = "site-c"
            transport = "amqp"
            url = "amqps://tesp@broker.example.org:5671/galaxy"
            password_file = "/run/secrets/broker"
            manager = "slurm"
            amqp_ca_file = "/etc/ssl/broker-ca.pem"
            """
        )
        let backend = try #require(settings.backends.first)
        #expect(backend.transport == .amqp && backend.kind == .pulsar && backend.manager == "slurm")
        #expect(backend.passwordFile == "/run/secrets/broker" && backend.amqpCAFile == "/etc/ssl/broker-ca.pem" && backend.amqpVerify)
        #expect(settings.engine.queueStatusRequestSeconds == 1800 && settings.engine.queueAnswerSeconds == 120)
        for (table, key) in [
            ("transport = \"amqp\"\nurl = \"http://broker\"", "backends[0].url"),
            ("transport = \"amqp\"\nurl = \"amqp://b\"\nkind = \"tes\"", "backends[0].transport"),
            ("transport = \"amqp\"\nurl = \"amqp://b\"\npassword = \"p\"\npassword_file = \"/f\"", "backends[0].password_file"),
            ("transport = \"stomp\"\nurl = \"amqp://b\"", "transport"),
            ("url = \"amqp://b\"", "backends[0].url"),
        ] {
            let failure = base.failure("[[default.backends]]\nname = \"a\"\n" + table + "\n")
            #expect(failure.contains(key), "\(failure)")
        }
    }

    @Test func backendsComeFromTheEnvironmentAsJSON() throws {
        let settings = try base.load(
            nil,
            env: ["TESP_BACKENDS": #"[{"name":"a","url":"http://127.0.0.1:1","max_jobs":2},{"name":"b","url":"http://127.0.0.1:2"}]"#]
        )
        #expect(settings.backends.map(\.name) == ["a", "b"] && settings.backends[0].maxJobs == 2)
    }

    @Test func badBackendTablesStopStartUpNamingTheKey() {
        let unknown = base.failure("[[default.backends]]\nname = \"a\"\nurl = \"http://x\"\nmax_job = 3\n")
        #expect(unknown.contains("max_job"), "\(unknown)")
        let twice = base.failure("[[default.backends]]\nname = \"a\"\nurl = \"http://x\"\n[[default.backends]]\nname = \"a\"\nurl = \"http://y\"\n")
        #expect(twice.contains("backends[1].name"), "\(twice)")
        let kind = base.failure("[[default.backends]]\nname = \"a\"\nurl = \"http://x\"\nkind = \"slurm\"\n")
        #expect(kind.contains("kind"), "\(kind)")
        let name = base.failure("[[default.backends]]\nname = \"a b\"\nurl = \"http://x\"\n")
        #expect(name.contains("backends[0].name"), "\(name)")
        let staging = base.failure("[[default.backends]]\nname = \"a\"\nurl = \"http://x\"\nstaging = \"galaxy\"\n")
        #expect(staging.contains("staging"), "\(staging)")
        let presign = base.failure("[default.s3]\npresign_seconds = 604801\n")
        #expect(presign.contains("s3.presign_seconds"), "\(presign)")
        let policy = base.failure("[default.engine]\nplacement = \"random\"\n")
        #expect(policy.contains("engine.placement"), "\(policy)")
    }

    @Test func servedInputSettingsAreCheckedAndTheKeyComesFromAFile() throws {
        for (toml, key) in [
            ("public_url = \"ftp://tesp.example\"", "server.public_url"),
            ("public_url = \"https://\"", "server.public_url"),
            ("staging_key = \"short\"", "server.staging_key"),
            ("staging_url_seconds = 10", "server.staging_url_seconds"),
        ] {
            let message = base.failure("[default.server]\n\(toml)\n")
            #expect(message.contains(key), "\(message)")
        }
        let key = String(repeating: "k", count: 32)
        let settings = try base.load(
            "[default.server]\npublic_url = \"https://tesp.example.org\"\n",
            env: ["TESP_SERVER__STAGING_KEY_FILE": "/run/secrets/staging-key"],
            files: ["/run/secrets/staging-key": key + "\n"]
        )
        #expect(settings.server.publicURL == "https://tesp.example.org")
        #expect(settings.server.stagingKey.value == key && settings.server.stagingURLSeconds == 3600)
        #expect(!"\(settings.server)".contains(key))
    }
}
