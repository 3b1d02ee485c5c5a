import Foundation
import TES

/// What a job script recorded about its executors (`tesp/executors.jsonl`), read back into TES executor logs.
public struct JobRecords: Sendable, Equatable {
    /// One log per executor that started, in order. One that never ended (the job was stopped) has exit code -1.
    public var executorLogs: [TESExecutorLog]
    /// An executor failed and the script stopped there (TES: EXECUTOR_ERROR).
    public var stoppedOnFailure: Bool
    /// The script ran every executor (or stopped on a failure) and finished.
    public var finished: Bool

    public init(executorLogs: [TESExecutorLog] = [], stoppedOnFailure: Bool = false, finished: Bool = false) {
        self.executorLogs = executorLogs
        self.stoppedOnFailure = stoppedOnFailure
        self.finished = finished
    }

    private struct Record: Decodable {
        var event: String
        var executor: Int?
        var time: Int64?
        var exitCode: Int?
        var stdout: String?
        var stderr: String?

        enum CodingKeys: String, CodingKey {
            case event, executor, time, stdout, stderr
            case exitCode = "exit_code"
        }
    }

    /// Parses the records; a line that is cut off (the job was killed while writing it) is skipped.
    public init(parsing data: Data) {
        self.init()
        let decoder = JSONDecoder()
        var logs: [Int: TESExecutorLog] = [:]
        for line in data.split(separator: UInt8(ascii: "\n")) {
            guard let record = try? decoder.decode(Record.self, from: Data(line)) else { continue }
            let time = record.time.map { Date(timeIntervalSince1970: Double($0) / 1000) }
            switch record.event {
            case "start":
                guard let index = record.executor else { continue }
                logs[index] = TESExecutorLog(startTime: time, exitCode: -1)
            case "end":
                guard let index = record.executor else { continue }
                var log = logs[index] ?? TESExecutorLog(exitCode: -1)
                log.endTime = time
                log.exitCode = record.exitCode ?? -1
                log.stdout = Self.decodeTail(record.stdout)
                log.stderr = Self.decodeTail(record.stderr)
                logs[index] = log
            case "stopped":
                stoppedOnFailure = true
                finished = true
            case "done":
                finished = true
            default:
                continue
            }
        }
        executorLogs = logs.keys.sorted().compactMap { logs[$0] }
    }

    /// A base64 tail as text; bytes cut in the middle of a UTF-8 sequence become U+FFFD.
    private static func decodeTail(_ base64: String?) -> String {
        guard let base64, let data = Data(base64Encoded: base64) else { return "" }
        return String(decoding: data, as: UTF8.self)
    }
}
