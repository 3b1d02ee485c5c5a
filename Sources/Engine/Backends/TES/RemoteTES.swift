import Client
import TES

/// The calls the gateway backend makes to another TES 1.1 server (``TESClient`` over HTTP; a fake in tests).
public protocol RemoteTES: Sendable {
    func create(_ task: TESTask) async throws -> String
    func get(id: String, view: TESView) async throws -> TESTask
    /// Tasks with the tag `key` = `value`, newest first.
    func ids(taggedWith key: String, _ value: String) async throws -> [String]
    func cancel(id: String) async throws
    func serviceInfo() async throws -> TESServiceInfo
}

extension TESClient: RemoteTES {
    public func ids(taggedWith key: String, _ value: String) async throws -> [String] {
        try await list(tags: [(key, value)], view: .minimal, pageSize: 10).tasks.compactMap(\.id)
    }
}
