extension Settings {
    static let logLevels = ["trace", "debug", "info", "notice", "warning", "error", "critical"]

    /// Checks values that have the right type but make no sense.
    /// - Throws: ``SettingsError`` naming the key.
    func validate() throws(SettingsError) {
        func check(_ ok: Bool, _ key: String, _ rule: String) throws(SettingsError) {
            if !ok { throw SettingsError("setting '\(key)' \(rule)") }
        }
        try check((0...65535).contains(server.port), "server.port", "must be from 0 to 65535")
        try check(server.maxBodyBytes >= 256 * 1024, "server.max_body_bytes", "must be at least 262144 (TES asks for 128 KiB of content)")
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
        try check(Self.logLevels.contains(log.level), "log.level", "must be one of \(Self.logLevels.joined(separator: ", "))")
    }
}
