import Foundation

/// What happened to one executor (`tesExecutorLog`).
public struct TESExecutorLog: Codable, Sendable, Equatable {
    public var startTime: Date?
    public var endTime: Date?
    /// A bounded tail of the executor's standard output.
    public var stdout: String?
    /// A bounded tail of the executor's standard error.
    public var stderr: String?
    public var exitCode: Int

    public init(startTime: Date? = nil, endTime: Date? = nil, stdout: String? = nil, stderr: String? = nil, exitCode: Int) {
        self.startTime = startTime
        self.endTime = endTime
        self.stdout = stdout
        self.stderr = stderr
        self.exitCode = exitCode
    }

    enum CodingKeys: String, CodingKey {
        case stdout, stderr
        case startTime = "start_time"
        case endTime = "end_time"
        case exitCode = "exit_code"
    }
}

/// One published output file (`tesOutputFileLog`).
public struct TESOutputFileLog: Codable, Sendable, Equatable {
    public var url: String
    public var path: String
    /// The size in bytes, as a decimal string (TES encodes int64 as a string).
    public var sizeBytes: String

    public init(url: String, path: String, sizeBytes: String) {
        self.url = url
        self.path = path
        self.sizeBytes = sizeBytes
    }

    enum CodingKeys: String, CodingKey {
        case url, path
        case sizeBytes = "size_bytes"
    }
}

/// One attempt at running a task (`tesTaskLog`).
public struct TESTaskLog: Codable, Sendable, Equatable {
    /// One entry per executor that ran, in order.
    public var logs: [TESExecutorLog]
    public var metadata: [String: String]?
    public var startTime: Date?
    public var endTime: Date?
    public var outputs: [TESOutputFileLog]
    /// Messages from the server about this attempt (which step failed and why); only in the FULL view.
    public var systemLogs: [String]?

    public init(
        logs: [TESExecutorLog] = [],
        metadata: [String: String]? = nil,
        startTime: Date? = nil,
        endTime: Date? = nil,
        outputs: [TESOutputFileLog] = [],
        systemLogs: [String]? = nil
    ) {
        self.logs = logs
        self.metadata = metadata
        self.startTime = startTime
        self.endTime = endTime
        self.outputs = outputs
        self.systemLogs = systemLogs
    }

    enum CodingKeys: String, CodingKey {
        case logs, metadata, outputs
        case startTime = "start_time"
        case endTime = "end_time"
        case systemLogs = "system_logs"
    }

    // `logs` and `outputs` are required by the schema but a stored or projected log may lack them.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        logs = try c.decodeIfPresent([TESExecutorLog].self, forKey: .logs) ?? []
        metadata = try c.decodeIfPresent([String: String].self, forKey: .metadata)
        startTime = try c.decodeIfPresent(Date.self, forKey: .startTime)
        endTime = try c.decodeIfPresent(Date.self, forKey: .endTime)
        outputs = try c.decodeIfPresent([TESOutputFileLog].self, forKey: .outputs) ?? []
        systemLogs = try c.decodeIfPresent([String].self, forKey: .systemLogs)
    }
}
