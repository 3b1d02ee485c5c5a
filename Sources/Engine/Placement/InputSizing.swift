import TES
import Transfer

/// The bytes of a task's inputs by storage host, for data-locality placement.
public protocol InputSizing: Sendable {
    func bytesByHost(of task: TESTask, secrets: [String: String]) async -> [String: Int64]
}

/// Sizes from the servers themselves (HTTP HEAD, FTP SIZE, stat), one call per FILE input; an input whose size the
/// server does not give counts 1 byte, so that near inputs still count. DIRECTORY inputs and inline content count
/// nothing.
public struct TransferInputSizing: InputSizing {
    let transfers: Transfers

    public init(transfers: Transfers) { self.transfers = transfers }

    public func bytesByHost(of task: TESTask, secrets: [String: String]) async -> [String: Int64] {
        var bytes: [String: Int64] = [:]
        for input in task.inputs ?? [] where input.type != .directory && (input.content ?? "").isEmpty {
            guard let text = input.url, let stored = StorageURL(text) else { continue }
            let url = TaskCredentials.restoringQuery(of: stored, from: secrets)
            let size = await transfers.size(of: url, secret: secrets[TaskCredentials.key(for: url)]) ?? 1
            bytes[url.host.lowercased(), default: 0] += max(1, size)
        }
        return bytes
    }
}
