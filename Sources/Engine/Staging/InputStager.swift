import Foundation
import Logging
import NIOCore
import JobScript
import Pulsar
import TES
import Transfer

/// Puts a task's inputs into its Pulsar job: inline content is uploaded as is; URL inputs are fetched to this
/// server's disk and streamed up to Pulsar, one file at a time per slot (directories file by file).
struct InputStager: Sendable {
    let transfers: Transfers
    let stagingDirectory: String
    let parallelTransfers: Int
    let ownerSlots: OwnerTransferSlots

    /// Uploads every input of `task` to the job. - Returns: where the job script must place each uploaded file.
    /// - Throws: ``TaskFailure`` naming the input, its URL (without password) and why.
    func stage(
        _ task: TESTask,
        secrets: [String: String],
        owner: String?,
        backend: any PulsarJobFiles,
        jobID: String,
        skipping skipped: Set<Int> = [],
        logger: Logger
    ) async throws
        -> [JobScript.PlacedInput]
    {
        var placed: [JobScript.PlacedInput] = []
        var downloads: [(field: String, url: StorageURL, name: String, path: String)] = []
        for (index, input) in (task.inputs ?? []).enumerated() where !skipped.contains(index) {
            guard let path = input.path else { continue }
            if let content = input.content, !content.isEmpty {
                let name = "content-\(index)"
                try await upload(field: "inputs[\(index)]") {
                    try await backend.upload(jobID: jobID, name: name, type: .input, contents: ByteBuffer(string: content))
                }
                placed.append(.init(uploadedName: name, path: path))
                continue
            }
            guard let text = input.url, let stored = StorageURL(text) else {
                throw TaskFailure("inputs[\(index)]: the URL cannot be read")
            }
            let url = TaskCredentials.restoringQuery(of: stored, from: secrets)
            if input.type == .directory {
                let files: [RemoteFile]
                do {
                    files = try await ownerSlots.run(owner: owner) { [url] in
                        try await transfers.listFiles(under: url, secret: secrets[TaskCredentials.key(for: url)], logger: logger)
                    }
                } catch let error as TransferError {
                    throw TaskFailure("inputs[\(index)]: listing \(url) failed: \(error)")
                }
                for (number, file) in files.enumerated() {
                    // Every listed name was checked to be one path segment; the whole path must be a TES path too.
                    let target = TESPath.joined(path, file.relativePath)
                    if let problem = TESPath.problem(with: target) {
                        throw TaskFailure("inputs[\(index)]: listing \(url) gave a file whose path \(problem)")
                    }
                    downloads.append(
                        (
                            "inputs[\(index)]", url.appending(file.relativePath), "input-\(index)-\(number)",
                            target
                        )
                    )
                }
            } else {
                downloads.append(("inputs[\(index)]", url, "input-\(index)", path))
            }
        }
        // Nothing through TESP's disk (every input travels with the job or is fetched by the backend): not even a folder.
        if downloads.isEmpty { return placed }
        let directory = (stagingDirectory as NSString).appendingPathComponent(jobID + "-inputs")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let limiter = AsyncLimiter(limit: parallelTransfers)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for item in downloads {
                group.addTask {
                    try await limiter.run {
                        try await ownerSlots.run(owner: owner) {
                        let local = (directory as NSString).appendingPathComponent(item.name)
                        defer { try? FileManager.default.removeItem(atPath: local) }
                        do {
                            _ = try await transfers.download(item.url, to: local, secret: secrets[TaskCredentials.key(for: item.url)], logger: logger)
                        } catch let error as TransferError {
                            throw TaskFailure("\(item.field): \(error)")
                        }
                        try await upload(field: item.field) {
                            try await backend.uploadFile(jobID: jobID, name: item.name, type: .input, path: local)
                        }
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        placed += downloads.map { .init(uploadedName: $0.name, path: $0.path) }
        return placed
    }

    private func upload(field: String, _ body: () async throws -> Void) async throws {
        do {
            try await body()
        } catch let error as PulsarError {
            throw TaskFailure("\(field): upload to Pulsar failed: \(error)")
        }
    }
}
