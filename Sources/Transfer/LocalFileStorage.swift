import Foundation
import NIOPosix

/// `file://` URLs (and bare absolute paths), limited to the directories an operator allowed: a task must not read
/// or write anywhere else on the server.
public struct LocalFileStorage: Storage {
    private let allowedDirectories: [String]
    private let threads: NIOThreadPool

    public init(allowedDirectories: [String], threads: NIOThreadPool) {
        self.allowedDirectories = allowedDirectories.map { ($0 as NSString).standardizingPath }
        self.threads = threads
    }

    /// Whether `path` lies in an allowed directory, once `..` and symbolic links are resolved as far as they exist.
    public func isAllowed(_ path: String) -> Bool {
        Self.isAllowed(path, in: allowedDirectories)
    }

    /// The same check without a storage (for validation when a task is created).
    public static func isAllowed(_ path: String, in directories: [String]) -> Bool {
        let resolved = resolve(path)
        return directories.contains { directory in
            let root = resolve(directory)
            return resolved == root || resolved.hasPrefix(root.hasSuffix("/") ? root : root + "/")
        }
    }

    /// `path` with `.`/`..` removed and the symbolic links of its longest existing prefix resolved.
    static func resolve(_ path: String) -> String {
        var existing = (path as NSString).standardizingPath
        var rest: [String] = []
        while !FileManager.default.fileExists(atPath: existing), existing != "/" {
            rest.insert((existing as NSString).lastPathComponent, at: 0)
            existing = (existing as NSString).deletingLastPathComponent
        }
        let real = (existing as NSString).resolvingSymlinksInPath
        return rest.reduce(real) { ($0 as NSString).appendingPathComponent($1) }
    }

    private func checked(_ url: StorageURL) throws -> String {
        guard isAllowed(url.path) else {
            throw TransferError(.denied, "\(url.path) is outside the directories this server may use for file:// URLs")
        }
        return url.path
    }

    public func download(_ url: StorageURL, to localPath: String, credentials: Credential?) async throws -> Int64 {
        let source = try checked(url)
        return try await threads.runIfActive { try Self.copy(source, to: localPath, url: url) }
    }

    public func upload(_ localPath: String, to url: StorageURL, credentials: Credential?) async throws -> Int64 {
        let target = try checked(url)
        return try await threads.runIfActive {
            try FileManager.default.createDirectory(
                atPath: (target as NSString).deletingLastPathComponent,
                withIntermediateDirectories: true
            )
            return try Self.copy(localPath, to: target, url: url)
        }
    }

    public func listFiles(under url: StorageURL, credentials: Credential?) async throws -> [RemoteFile] {
        let root = try checked(url)
        return try await threads.runIfActive {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: root, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw TransferError(.notFound, "\(root) is not a directory")
            }
            guard let walker = FileManager.default.enumerator(atPath: root) else { return [] }
            var files: [RemoteFile] = []
            while let relative = walker.nextObject() as? String {
                let full = (root as NSString).appendingPathComponent(relative)
                var isDir: ObjCBool = false
                if FileManager.default.fileExists(atPath: full, isDirectory: &isDir), !isDir.boolValue {
                    let size = (try? FileManager.default.attributesOfItem(atPath: full)[.size] as? Int64) ?? nil
                    files.append(RemoteFile(relativePath: relative, size: size))
                }
            }
            return files.sorted { $0.relativePath < $1.relativePath }
        }
    }

    /// Copies in 1 MiB chunks (memory stays flat for any size).
    private static func copy(_ source: String, to target: String, url: StorageURL) throws -> Int64 {
        guard let input = FileHandle(forReadingAtPath: source) else {
            throw TransferError(.notFound, "\(url) does not exist or cannot be read")
        }
        defer { try? input.close() }
        guard FileManager.default.createFile(atPath: target, contents: nil), let output = FileHandle(forWritingAtPath: target)
        else { throw TransferError(.failed, "cannot write \(target)") }
        defer { try? output.close() }
        var total: Int64 = 0
        while let chunk = try input.read(upToCount: 1 << 20), !chunk.isEmpty {
            try output.write(contentsOf: chunk)
            total += Int64(chunk.count)
        }
        return total
    }
}
