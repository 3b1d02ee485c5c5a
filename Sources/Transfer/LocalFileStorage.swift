import Foundation
import NIOPosix
import TES

/// `file://` URLs (and bare absolute paths), limited to the directories an operator allowed: a task must not read
/// or write anywhere else on the server.
///
/// Containment is decided on the real path (`realpath(3)`: symbolic links and `..` resolved), and the file is
/// then opened by that real path with `O_NOFOLLOW`, so a link inside an allowed directory cannot lead out of it.
/// Listings do not follow links at all. Every file-system call runs on the transfer threads, never on Swift's
/// cooperative pool.
public struct LocalFileStorage: Storage {
    private let allowedDirectories: [String]
    private let threads: NIOThreadPool
    private let limits: TransferLimits

    public init(allowedDirectories: [String], threads: NIOThreadPool, limits: TransferLimits = .init()) {
        self.allowedDirectories = allowedDirectories
        self.threads = threads
        self.limits = limits
    }

    /// Whether `path` lies in an allowed directory once links are resolved. Blocks on the file system.
    public func isAllowed(_ path: String) -> Bool {
        Self.allowedRealPath(path, in: allowedDirectories) != nil
    }

    /// `path`'s real path if it lies in one of `directories` (also resolved), else `nil`. Blocks on the file system.
    public static func allowedRealPath(_ path: String, in directories: [String]) -> String? {
        guard let resolved = resolve(path) else { return nil }
        let inside = directories.contains { directory in
            guard let root = resolve(directory) else { return false }
            return TESPath.isInside(resolved, directory: root)
        }
        return inside ? resolved : nil
    }

    /// The real path of `path`'s longest existing prefix with the rest appended, or `nil` when `path` is not an
    /// absolute, normalised path. Each step goes one directory up, and `/` always exists, so it ends.
    static func resolve(_ path: String) -> String? {
        guard TESPath.problem(with: path, allowRoot: true) == nil else { return nil }
        var existing = TESPath.normalised(path)
        var rest: [String] = []
        while true {
            if let real = realPath(existing) {
                return rest.reduce(real) { TESPath.joined($0, $1) }
            }
            if existing == "/" { return nil }
            let parent = TESPath.parent(of: existing)
            rest.insert(TESPath.relative(existing, below: parent), at: 0)
            existing = parent
        }
    }

    private static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    private func denied(_ url: StorageURL) -> TransferError {
        TransferError(.denied, "\(url.path) is outside the directories this server may use for file:// URLs")
    }

    public func download(_ url: StorageURL, to localPath: String, credentials: Credential?) async throws -> Int64 {
        let directories = allowedDirectories
        let limits = limits
        return try await threads.runIfActive {
            guard let source = Self.allowedRealPath(url.path, in: directories) else { throw denied(url) }
            let input = open(source, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
            guard input >= 0 else { throw TransferError(.notFound, "\(url) does not exist or cannot be read") }
            defer { close(input) }
            var info = stat()
            guard fstat(input, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else {
                throw TransferError(.failed, "\(url) is not a regular file")
            }
            if limits.maxFileBytes > 0, Int64(info.st_size) > limits.maxFileBytes {
                throw TransferError(.failed, "\(url) is larger than transfer.max_file_bytes (\(limits.maxFileBytes) bytes)")
            }
            let output = open(localPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
            guard output >= 0 else { throw TransferError(.failed, "cannot write \(localPath)") }
            defer { close(output) }
            return try Self.copy(from: input, to: output, url: url)
        }
    }

    public func size(of url: StorageURL, credentials: Credential?) async throws -> Int64? {
        let directories = allowedDirectories
        return try await threads.runIfActive {
            guard let path = Self.allowedRealPath(url.path, in: directories) else { throw denied(url) }
            var info = stat()
            // As a server's 404 would: a missing file is an error, not an unknown size.
            guard stat(path, &info) == 0 else { throw TransferError(.notFound, "\(url) does not exist or cannot be read") }
            guard (info.st_mode & S_IFMT) == S_IFREG else { return nil }
            return Int64(info.st_size)
        }
    }

    public func upload(_ localPath: String, to url: StorageURL, credentials: Credential?) async throws -> Int64 {
        let directories = allowedDirectories
        return try await threads.runIfActive {
            guard Self.allowedRealPath(url.path, in: directories) != nil else { throw denied(url) }
            let parent = TESPath.parent(of: url.path)
            try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
            // The parent exists now: its real path is decided, and must still be allowed.
            guard let realParent = Self.allowedRealPath(parent, in: directories) else { throw denied(url) }
            let target = TESPath.joined(realParent, TESPath.relative(url.path, below: parent))
            let input = open(localPath, O_RDONLY | O_CLOEXEC)
            guard input >= 0 else { throw TransferError(.failed, "cannot read \(localPath)") }
            defer { close(input) }
            let output = open(target, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0o644)
            guard output >= 0 else {
                throw TransferError(.failed, "cannot write \(url): \(String(cString: strerror(errno)))")
            }
            defer { close(output) }
            return try Self.copy(from: input, to: output, url: url)
        }
    }

    /// A pipe reads as a file does, to its end.
    public func upload(pipe pipePath: String, size: Int64, to url: StorageURL, credentials: Credential?) async throws -> Int64 {
        try await upload(pipePath, to: url, credentials: credentials)
    }

    public func listFiles(under url: StorageURL, credentials: Credential?) async throws -> [RemoteFile] {
        let directories = allowedDirectories
        let limits = limits
        return try await threads.runIfActive {
            guard let root = Self.allowedRealPath(url.path, in: directories) else { throw denied(url) }
            var info = stat()
            guard lstat(root, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR else {
                throw TransferError(.notFound, "\(url.path) is not a directory")
            }
            var files: [RemoteFile] = []
            var entries = 0
            var pending: [(relative: String, depth: Int)] = [("", 0)]
            while let (relative, depth) = pending.popLast() {
                let directory = relative.isEmpty ? root : TESPath.joined(root, relative)
                guard let handle = opendir(directory) else { continue }
                defer { closedir(handle) }
                while let entry = readdir(handle) {
                    let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                        String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
                    }
                    if name == "." || name == ".." { continue }
                    entries += 1
                    if entries > limits.maxListingEntries {
                        throw TransferError(.failed, "\(url) holds more than \(limits.maxListingEntries) entries; the limit is transfer.max_listing_entries")
                    }
                    let path = relative.isEmpty ? name : relative + "/" + name
                    var entryInfo = stat()
                    // lstat: a link is neither followed nor listed.
                    guard lstat(TESPath.joined(root, path), &entryInfo) == 0 else { continue }
                    switch entryInfo.st_mode & S_IFMT {
                    case S_IFDIR:
                        guard depth + 1 <= limits.maxListingDepth else {
                            throw TransferError(.failed, "\(url) is nested deeper than \(limits.maxListingDepth) directories; the limit is transfer.max_listing_depth")
                        }
                        pending.append((path, depth + 1))
                    case S_IFREG:
                        files.append(RemoteFile(relativePath: path, size: Int64(entryInfo.st_size)))
                    default:
                        continue
                    }
                }
            }
            return files.sorted { $0.relativePath.utf8.lexicographicallyPrecedes($1.relativePath.utf8) }
        }
    }

    /// Copies in 1 MiB chunks (memory stays flat for any size).
    private static func copy(from input: Int32, to output: Int32, url: StorageURL) throws -> Int64 {
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        var total: Int64 = 0
        while true {
            let count = buffer.withUnsafeMutableBytes { read(input, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw TransferError(.failed, "reading for \(url) failed: \(String(cString: strerror(errno)))")
            }
            if count == 0 { return total }
            var written = 0
            while written < count {
                let result = buffer.withUnsafeBytes { write(output, $0.baseAddress! + written, count - written) }
                if result < 0 {
                    if errno == EINTR { continue }
                    throw TransferError(.failed, "writing for \(url) failed: \(String(cString: strerror(errno)))")
                }
                written += result
            }
            total += Int64(count)
        }
    }
}
