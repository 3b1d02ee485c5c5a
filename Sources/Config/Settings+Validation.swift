import Foundation

extension Settings {
    static let runtimes = ["docker", "podman", "singularity", "apptainer", "bwrap"]
    static let logLevels = ["trace", "debug", "info", "notice", "warning", "error", "critical"]
    static let logFormats = ["text", "json"]
    static let authModes = ["none", "basic", "oidc"]
    static let accessPolicies = ["all", "owner", "owner-or-admin"]
    static let tokenAlgorithms = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"]

    /// `engine.sandbox_user` as numbers; `nil` if it is not `uid:gid` or names root.
    public var sandboxUserIDs: (uid: UInt32, gid: UInt32)? {
        let parts = engine.sandboxUser.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let uid = UInt32(parts[0]), let gid = UInt32(parts[1]), uid != 0, gid != 0 else { return nil }
        return (uid, gid)
    }

    /// Checks values that have the right type but make no sense.
    /// - Throws: ``SettingsError`` naming the key.
    func validate() throws(SettingsError) {
        func check(_ ok: Bool, _ key: String, _ rule: String) throws(SettingsError) {
            if !ok { throw SettingsError("setting '\(key)' \(rule)") }
        }
        try check((0...65535).contains(server.port), "server.port", "must be from 0 to 65535")
        try check(server.maxBodyBytes >= 256 * 1024, "server.max_body_bytes", "must be at least 262144 (TES asks for 128 KiB of content)")
        try check(server.maxListBytes >= 64 * 1024, "server.max_list_bytes", "must be at least 65536")
        try check(server.idleTimeoutSeconds > 0, "server.idle_timeout_seconds", "must be positive")
        try check(server.maxConnections >= 1, "server.max_connections", "must be at least 1")
        try check(server.maxConcurrentFullLists >= 1, "server.max_concurrent_full_lists", "must be at least 1")
        let publicURL = URLComponents(string: server.publicURL)
        try check(
            server.publicURL.isEmpty || (["http", "https"].contains(publicURL?.scheme ?? "") && !(publicURL?.host ?? "").isEmpty),
            "server.public_url", "must be an http(s) URL, as backends reach this server"
        )
        try check(server.stagingKey.value.isEmpty || server.stagingKey.value.utf8.count >= 32, "server.staging_key", "must be at least 32 characters (openssl rand -hex 32)")
        try check((60...604_800).contains(server.stagingURLSeconds), "server.staging_url_seconds", "must be between 60 and 604800")
        try check(!db.database.isEmpty, "db.database", "must not be empty")
        try check(!db.collection.isEmpty, "db.collection", "must not be empty")
        try check((1...256).contains(db.poolSize), "db.pool_size", "must be from 1 to 256")
        try check(db.startupTimeoutSeconds >= 0, "db.startup_timeout_seconds", "must not be negative")
        try check(tasks.maxExecutors >= 1, "tasks.max_executors", "must be at least 1")
        try check(tasks.maxCPUCores >= 1, "tasks.max_cpu_cores", "must be at least 1")
        try check(tasks.maxRAMGb > 0 && tasks.maxDiskGb > 0, "tasks.max_ram_gb", "and tasks.max_disk_gb must be positive")
        try check(
            tasks.backendParameters.allSatisfy { !$0.isEmpty && !$0.contains(".") && !$0.hasPrefix("$") },
            "tasks.backend_parameters",
            "must be non-empty names without '.' or a leading '$'"
        )
        try check(
            pulsar.urls.allSatisfy { $0.hasPrefix("http://") || $0.hasPrefix("https://") },
            "pulsar.urls",
            "must be http:// or https:// URLs"
        )
        try check(pulsar.tokens.isEmpty || pulsar.tokens.count == pulsar.urls.count, "pulsar.tokens", "must be empty or one per URL")
        try check(pulsar.timeoutSeconds > 0, "pulsar.timeout_seconds", "must be positive")
        var names: Set<String> = []
        for (index, backend) in backends.enumerated() {
            let field = "backends[\(index)]"
            try check(
                !backend.name.isEmpty && backend.name.utf8.count <= 64
                    && backend.name.unicodeScalars.allSatisfy { $0.properties.isAlphabetic && $0.isASCII || ("0"..."9").contains($0) || "._-".unicodeScalars.contains($0) },
                field + ".name",
                "must be 1 to 64 letters, digits, '.', '_' or '-'"
            )
            try check(names.insert(backend.name).inserted, field + ".name", "'\(backend.name)' names two backends")
            if backend.transport == .amqp {
                try check(backend.kind == .pulsar, field + ".transport", "amqp needs kind pulsar")
                try check(backend.url.hasPrefix("amqp://") || backend.url.hasPrefix("amqps://"), field + ".url", "must be an amqp:// or amqps:// URL (the broker)")
                try check(backend.password.value.isEmpty || backend.passwordFile.isEmpty, field + ".password_file", "set password or password_file, not both")
                try check(!backend.manager.isEmpty, field + ".manager", "must not be empty (Pulsar's default is _default_)")
            } else {
                try check(backend.url.hasPrefix("http://") || backend.url.hasPrefix("https://"), field + ".url", "must be an http:// or https:// URL")
            }
            try check(backend.maxJobs >= 0, field + ".max_jobs", "must not be negative")
            try check(backend.staging == .tesp || backend.kind == .pulsar, field + ".staging", "pulsar staging needs kind pulsar")
            try check((backend.cpuCores ?? 1) >= 1, field + ".cpu_cores", "must be at least 1")
            try check((backend.ramGb ?? 1) > 0, field + ".ram_gb", "must be positive")
            try check((backend.diskGb ?? 1) > 0, field + ".disk_gb", "must be positive")
            try check(backend.token.value.isEmpty || backend.tokenFile.isEmpty, field + ".token_file", "set token or token_file, not both")
        }
        try check(engine.statusCallsPerSecond >= 0, "engine.status_calls_per_second", "must not be negative")
        try check(engine.healthIntervalSeconds > 0, "engine.health_interval_seconds", "must be positive")
        try check(engine.healthTimeoutSeconds > 0, "engine.health_timeout_seconds", "must be positive")
        try check(engine.shutdownSeconds >= 0, "engine.shutdown_seconds", "must not be negative")
        try check(engine.queueStatusRequestSeconds > 0, "engine.queue_status_request_seconds", "must be positive")
        try check(engine.queueAnswerSeconds > 0, "engine.queue_answer_seconds", "must be positive")
        try check(engine.leaseSeconds >= 3, "engine.lease_seconds", "must be at least 3")
        try check(
            engine.leaseSeconds > engine.scanIntervalSeconds,
            "engine.lease_seconds",
            "must be longer than engine.scan_interval_seconds"
        )
        try check(Self.runtimes.contains(engine.runtime), "engine.runtime", "must be one of \(Self.runtimes.joined(separator: ", "))")
        try check(sandboxUserIDs != nil, "engine.sandbox_user", "must be a numeric uid:gid other than 0 (such as 65534:65534)")
        try check(engine.pollInitialMs >= 1, "engine.poll_initial_ms", "must be at least 1")
        try check(engine.pollMaxSeconds > 0, "engine.poll_max_seconds", "must be positive")
        try check(engine.maxConcurrentPolls >= 1, "engine.max_concurrent_polls", "must be at least 1")
        try check(engine.maxStartingTasks >= 1, "engine.max_starting_tasks", "must be at least 1")
        try check(engine.scanIntervalSeconds > 0, "engine.scan_interval_seconds", "must be positive")
        try check(engine.transientGraceSeconds >= 0, "engine.transient_grace_seconds", "must not be negative")
        try check(engine.heartbeatSeconds >= 1, "engine.heartbeat_seconds", "must be at least 1")
        try check(
            engine.heartbeatTimeoutSeconds > Double(2 * engine.heartbeatSeconds),
            "engine.heartbeat_timeout_seconds",
            "must be more than twice engine.heartbeat_seconds"
        )
        try check(engine.maxTaskSeconds >= 0, "engine.max_task_seconds", "must not be negative")
        try check(transfer.maxConcurrent >= 1, "transfer.max_concurrent", "must be at least 1")
        try check(transfer.maxPerTask >= 1, "transfer.max_per_task", "must be at least 1")
        try check(transfer.maxPerOwner >= 0, "transfer.max_per_owner", "must not be negative")
        try check(transfer.retries >= 0, "transfer.retries", "must not be negative")
        try check(transfer.maxListingEntries >= 1, "transfer.max_listing_entries", "must be at least 1")
        try check(transfer.maxListingDepth >= 1, "transfer.max_listing_depth", "must be at least 1")
        try check(transfer.lowSpeedBytesPerSecond >= 1, "transfer.low_speed_bytes_per_second", "must be at least 1")
        try check(transfer.lowSpeedSeconds >= 1, "transfer.low_speed_seconds", "must be at least 1")
        try check(transfer.maxSecondsPerFile >= 0, "transfer.max_seconds_per_file", "must not be negative")
        try check(transfer.maxFileBytes >= 0, "transfer.max_file_bytes", "must not be negative")
        for entry in drs.tokens {
            let parts = entry.value.split(separator: "=", maxSplits: 1)
            try check(parts.count == 2 && !parts[0].isEmpty && !parts[1].isEmpty, "drs.tokens", "entries must be host=token")
        }
        try check(["auto", "path", "virtual"].contains(s3.addressing), "s3.addressing", "must be auto, path or virtual")
        try check((1...604_800).contains(s3.presignSeconds), "s3.presign_seconds", "must be between 1 and 604800 (seven days, S3's limit)")
        try check(s3.multipartPartMib >= 5, "s3.multipart_part_mib", "must be at least 5 (S3's smallest part)")
        try check(s3.endpoint.isEmpty || s3.endpoint.hasPrefix("http://") || s3.endpoint.hasPrefix("https://"), "s3.endpoint", "must be an http:// or https:// URL")
        try check(gs.endpoint.hasPrefix("http://") || gs.endpoint.hasPrefix("https://"), "gs.endpoint", "must be an http:// or https:// URL")
        try check(transfer.stagingDirectory.hasPrefix("/"), "transfer.staging_directory", "must be an absolute path")
        try check(transfer.fileAllowedDirectories.allSatisfy { $0.hasPrefix("/") }, "transfer.file_allowed_directories", "must be absolute paths")
        try check(
            transfer.credentials.allSatisfy { $0.value.contains("://") && $0.value.contains("@") },
            "transfer.credentials",
            "must be URLs with user info (ftp://user:password@host)"
        )
        try check(Self.logLevels.contains(log.level), "log.level", "must be one of \(Self.logLevels.joined(separator: ", "))")
        try check(Self.logFormats.contains(log.format), "log.format", "must be one of \(Self.logFormats.joined(separator: ", "))")
        try validateAuth()
    }

    private func validateAuth() throws(SettingsError) {
        func check(_ ok: Bool, _ key: String, _ rule: String) throws(SettingsError) {
            if !ok { throw SettingsError("setting '\(key)' \(rule)") }
        }
        func isHTTPURL(_ text: String) -> Bool { text.hasPrefix("https://") || text.hasPrefix("http://") }
        try check(Self.authModes.contains(auth.mode), "auth.mode", "must be one of \(Self.authModes.joined(separator: ", "))")
        try check(Self.accessPolicies.contains(auth.policy), "auth.policy", "must be one of \(Self.accessPolicies.joined(separator: ", "))")
        try check(!auth.realm.isEmpty && !auth.realm.contains("\""), "auth.realm", "must be non-empty without '\"'")
        // Entries are secrets: a message names their position, never their text.
        for (index, entry) in auth.basic.users.enumerated() {
            let parts = entry.value.split(separator: ":", maxSplits: 1)
            try check(
                parts.count == 2 && !parts[0].isEmpty && parts[1].hasPrefix("$2"),
                "auth.basic.users[\(index)]",
                "must be 'name:bcrypt-hash' (htpasswd -nbB, or tesp hash-password)"
            )
        }
        switch auth.mode {
        case "basic":
            try check(!auth.basic.users.isEmpty, "auth.basic.users", "must list at least one user when auth.mode is basic")
        case "oidc":
            try check(isHTTPURL(auth.oidc.issuer), "auth.oidc.issuer", "must be the issuer's http(s) URL when auth.mode is oidc")
            try check(!auth.oidc.audiences.isEmpty, "auth.oidc.audiences", "must name at least one audience when auth.mode is oidc")
        default:
            break
        }
        try check(auth.oidc.jwksURL.isEmpty || isHTTPURL(auth.oidc.jwksURL), "auth.oidc.jwks_url", "must be empty or an http(s) URL")
        try check(
            !auth.oidc.algorithms.isEmpty && auth.oidc.algorithms.allSatisfy(Self.tokenAlgorithms.contains),
            "auth.oidc.algorithms",
            "must be some of \(Self.tokenAlgorithms.joined(separator: ", "))"
        )
        try check(!auth.oidc.subjectClaim.isEmpty, "auth.oidc.subject_claim", "must not be empty")
        try check(auth.oidc.leewaySeconds >= 0, "auth.oidc.leeway_seconds", "must not be negative")
        try check(auth.oidc.jwksRefreshSeconds >= 10, "auth.oidc.jwks_refresh_seconds", "must be at least 10")
    }
}
