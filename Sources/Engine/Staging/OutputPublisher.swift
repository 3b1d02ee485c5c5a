import Foundation
import Logging
import JobScript
import Pulsar
import TES
import Transfer

/// Publishes a finished task's outputs: reads the list of files the job script found for each output, streams
/// each file down from Pulsar to this server's disk and up to its URL (or, `streamed`, from Pulsar straight to
/// its URL through a pipe, never on disk); a file the job script sent from the Pulsar host itself is only listed.
struct OutputPublisher: Sendable {
    let transfers: Transfers
    let stagingDirectory: String
    let parallelTransfers: Int
    let ownerSlots: OwnerTransferSlots
    let limits: TransferLimits
    /// One hop, Pulsar to the URL, with nothing on TESP's disk (a transient failure fetches the file from Pulsar
    /// again). Used with Pulsar-side staging, whose point is that TESP's disk is out of the path.
    var streamed = false

    /// One file the job found for an output.
    struct Match: Sendable, Equatable {
        var output: Int
        var path: String
        var size: Int64
    }

    /// - Returns: one log per published file (directories flattened).
    /// - Throws: ``TaskFailure`` naming the output when a FILE or DIRECTORY output is missing or a transfer fails.
    func publish(
        _ task: TESTask,
        secrets: [String: String],
        owner: String?,
        backend: any PulsarJobFiles,
        jobID: String,
        logger: Logger
    ) async throws
        -> [TESOutputFileLog]
    {
        guard let outputs = task.outputs, !outputs.isEmpty else { return [] }
        let manifest: Data
        do {
            let buffer = try await backend.download(jobID: jobID, name: JobScript.outputsPath, type: .outputWorkdir, maxBytes: 64 << 20)
            manifest = Data(buffer.readableBytesView)
        } catch {
            throw TaskFailure("outputs: the job did not list its outputs (\(error))")
        }
        let (matches, missing, refused, sent, unsent) = Self.parse(manifest)
        // The list is written on the backend's host: an index the task does not have is a broken list, not a crash.
        if let stray = matches.first(where: { !outputs.indices.contains($0.output) }) {
            throw TaskFailure("outputs: the job's list of outputs names outputs[\(stray.output)], which the task does not have")
        }
        for (output, said) in unsent.sorted(by: { $0.key < $1.key }) {
            logger.warning(
                "The Pulsar host could not send an output; TESP sends it",
                metadata: ["output": "outputs[\(output)]", "error": "\(Redaction.redact(said))"]
            )
        }
        if let first = refused.first {
            throw TaskFailure(
                "outputs[\(first.output)]: \(first.path) is a symbolic link or not a regular file, or leads out of the task's directories; refused"
            )
        }
        if let first = missing.first {
            throw TaskFailure("outputs[\(first.output)]: \(first.path) was not created by the executors")
        }
        if limits.maxFileBytes > 0, let large = matches.first(where: { $0.size > limits.maxFileBytes }) {
            throw TaskFailure(
                "outputs[\(large.output)]: \(large.path) is \(large.size) bytes, more than transfer.max_file_bytes (\(limits.maxFileBytes))"
            )
        }
        // Sizes are apparent sizes: a sparse file of 2 GB takes 2 GB here. Each file is staged and sent on at once,
        // so what must fit is the files in flight; check the largest ones against the free space.
        let inFlight = matches.filter { !sent.contains($0.output) }.map(\.size).sorted(by: >).prefix(parallelTransfers).reduce(0, +)
        if !streamed, let free = Self.freeBytes(at: stagingDirectory), inFlight > free {
            throw TaskFailure("outputs: staging needs \(inFlight) bytes but \(stagingDirectory) has \(free) free")
        }
        let directory = (stagingDirectory as NSString).appendingPathComponent(jobID + "-outputs")
        // Only for files TESP sends itself: when the job sent every one, nothing touches TESP's disk.
        let throughTESP = !streamed && matches.contains { !sent.contains($0.output) }
        if throughTESP { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) }
        defer { if throughTESP { try? FileManager.default.removeItem(atPath: directory) } }
        let limiter = AsyncLimiter(limit: parallelTransfers)
        let streamed = streamed
        return try await withThrowingTaskGroup(of: (Int, TESOutputFileLog).self) { group in
            for (number, match) in matches.enumerated() {
                let output = outputs[match.output]
                guard let destination = Self.destination(of: match.path, for: output, secrets: secrets) else {
                    throw TaskFailure("outputs[\(match.output)]: the URL cannot be read")
                }
                if sent.contains(match.output) {
                    let log = TESOutputFileLog(url: destination.description, path: match.path, sizeBytes: String(match.size))
                    group.addTask { (number, log) }
                    continue
                }
                group.addTask {
                    try await limiter.run {
                        try await ownerSlots.run(owner: owner) {
                            let log =
                                if streamed {
                                    try await Self.sendStreamed(
                                        match, to: destination, secrets: secrets, from: backend, jobID: jobID, transfers: transfers, logger: logger
                                    )
                                } else {
                                    try await Self.sendThroughDisk(
                                        match, via: (directory as NSString).appendingPathComponent("output-\(number)"), to: destination,
                                        secrets: secrets, from: backend, jobID: jobID, transfers: transfers, logger: logger
                                    )
                                }
                            return (number, log)
                        }
                    }
                }
            }
            var logs: [(Int, TESOutputFileLog)] = []
            for try await log in group { logs.append(log) }
            return logs.sorted { $0.0 < $1.0 }.map(\.1)
        }
    }

    /// One file from Pulsar to `local` on this server's disk, then to `destination`.
    private static func sendThroughDisk(
        _ match: Match,
        via local: String,
        to destination: StorageURL,
        secrets: [String: String],
        from backend: any PulsarJobFiles,
        jobID: String,
        transfers: Transfers,
        logger: Logger
    ) async throws -> TESOutputFileLog {
        defer { try? FileManager.default.removeItem(atPath: local) }
        let field = "outputs[\(match.output)]"
        do {
            _ = try await backend.downloadFile(jobID: jobID, name: JobScript.rootPath + match.path, type: .outputWorkdir, to: local)
        } catch let error as PulsarError {
            throw TaskFailure("\(field): download of \(match.path) from Pulsar failed: \(error)")
        }
        let size: Int64
        do {
            size = try await transfers.upload(local, to: destination, secret: secrets[TaskCredentials.key(for: destination)], logger: logger)
        } catch let error as TransferError {
            throw TaskFailure("\(field): \(error)")
        }
        return TESOutputFileLog(url: destination.description, path: match.path, sizeBytes: String(size))
    }

    /// One file from Pulsar to `destination` in one streamed hop.
    private static func sendStreamed(
        _ match: Match,
        to destination: StorageURL,
        secrets: [String: String],
        from backend: any PulsarJobFiles,
        jobID: String,
        transfers: Transfers,
        logger: Logger
    ) async throws -> TESOutputFileLog {
        let field = "outputs[\(match.output)]"
        let size: Int64
        do {
            size = try await transfers.upload(
                size: match.size,
                to: destination,
                secret: secrets[TaskCredentials.key(for: destination)],
                logger: logger
            ) { write in
                let sent: Int64
                do {
                    sent = try await backend.downloadFile(jobID: jobID, name: JobScript.rootPath + match.path, type: .outputWorkdir, into: write)
                } catch let error as PulsarError {
                    throw TaskFailure("\(field): download of \(match.path) from Pulsar failed: \(error)")
                }
                // The job listed the size after the executors ended: a file that changed since cannot be trusted.
                guard sent == match.size else {
                    throw TaskFailure("\(field): \(match.path) is \(sent) bytes on Pulsar, not the \(match.size) the job listed")
                }
            }
        } catch let error as TransferError {
            throw TaskFailure("\(field): \(error)")
        }
        return TESOutputFileLog(url: destination.description, path: match.path, sizeBytes: String(size))
    }

    /// Where a matched file goes: the output's URL for a file; for a directory, the URL plus the path below the
    /// output's path; for a wildcard, the URL plus the path below `path_prefix` (TES 1.1).
    static func destination(of path: String, for output: TESOutput, secrets: [String: String] = [:]) -> StorageURL? {
        guard let text = output.url, let stored = StorageURL(text), let outputPath = output.path else { return nil }
        let url = TaskCredentials.restoringQuery(of: stored, from: secrets)
        let base: String
        if TESPath.hasWildcards(outputPath) {
            base = TESPath.normalised(output.pathPrefix ?? "/")
        } else if output.type == .directory {
            base = TESPath.normalised(outputPath)
        } else {
            return url
        }
        // The job listed only paths inside the output (the script checks); anything else is refused, not clipped.
        guard TESPath.isInside(path, directory: base), path != base, TESPath.problem(with: path) == nil else { return nil }
        return url.appending(TESPath.relative(path, below: base))
    }

    /// The job script's output list: the files matched, the FILE/DIRECTORY outputs that were missing or refused,
    /// and the FILE outputs the script sent itself or tried to (with what curl said).
    static func parse(_ data: Data) -> (
        matches: [Match], missing: [(output: Int, path: String)], refused: [(output: Int, path: String)], sent: Set<Int>, unsent: [Int: String]
    ) {
        struct Line: Decodable {
            var output: Int
            var path: String?
            var size: Int64?
            var missing: String?
            var refused: String?
            var sent: Bool?
            var unsent: String?
        }
        func decode64(_ text: String) -> String { String(decoding: Data(base64Encoded: text) ?? Data(), as: UTF8.self) }
        var matches: [Match] = []
        var missing: [(Int, String)] = []
        var refused: [(Int, String)] = []
        var sent: Set<Int> = []
        var unsent: [Int: String] = [:]
        for line in data.split(separator: UInt8(ascii: "\n")) {
            guard let entry = try? JSONDecoder().decode(Line.self, from: Data(line)) else { continue }
            if entry.sent == true {
                sent.insert(entry.output)
            } else if let said = entry.unsent {
                unsent[entry.output] = decode64(said)
            } else if let path = entry.path {
                matches.append(Match(output: entry.output, path: decode64(path), size: entry.size ?? 0))
            } else if let gone = entry.missing {
                missing.append((entry.output, decode64(gone)))
            } else if let bad = entry.refused {
                refused.append((entry.output, decode64(bad)))
            }
        }
        return (matches, missing, refused, sent, unsent)
    }

    /// Free bytes for an unprivileged writer on the file system of `path`, if it can be asked.
    static func freeBytes(at path: String) -> Int64? {
        var stats = statvfs()
        guard statvfs(path, &stats) == 0 else { return nil }
        return Int64(stats.f_bavail) * Int64(stats.f_frsize)
    }
}
