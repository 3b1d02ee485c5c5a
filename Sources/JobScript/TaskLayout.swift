import TES

/// Where a task's container paths live on the Pulsar host, and which directories the containers share.
///
/// Every container path `/p` has a host twin `<root>/p`. The mounts are the fewest directories that hold every
/// input, output, volume and redirect path: each such path's directory, minus those inside another one. A file
/// directly under `/` cannot have its parent mounted (that would hide the image), so the file itself is mounted.
public struct TaskLayout: Sendable, Equatable {
    /// One bind mount: the container path and whether it is a single file.
    public struct Mount: Sendable, Equatable, Comparable {
        public var containerPath: String
        public var isFile: Bool

        public init(containerPath: String, isFile: Bool) {
            self.containerPath = containerPath
            self.isFile = isFile
        }

        public static func < (lhs: Mount, rhs: Mount) -> Bool {
            lhs.containerPath.utf8.lexicographicallyPrecedes(rhs.containerPath.utf8)
        }
    }

    /// Sorted so that a parent is always mounted before anything inside it.
    public let mounts: [Mount]

    public init(task: TESTask) {
        var directories: Set<String> = []
        var files: Set<String> = []
        func addParent(of path: String) {
            let parent = TESPath.parent(of: path)
            if parent == "/" { files.insert(TESPath.normalised(path)) } else { directories.insert(parent) }
        }
        for volume in task.volumes ?? [] { directories.insert(TESPath.normalised(volume)) }
        for input in task.inputs ?? [] {
            guard let path = input.path else { continue }
            if input.type == .directory { directories.insert(TESPath.normalised(path)) } else { addParent(of: path) }
        }
        for output in task.outputs ?? [] {
            guard let path = output.path else { continue }
            if TESPath.hasWildcards(path), let prefix = output.pathPrefix, TESPath.normalised(prefix) != "/" {
                directories.insert(TESPath.normalised(prefix))
            } else if output.type == .directory {
                directories.insert(TESPath.normalised(path))
            } else {
                addParent(of: path)
            }
        }
        for executor in task.executors ?? [] {
            for path in [executor.stdin, executor.stdout, executor.stderr] {
                if let path, !path.isEmpty { addParent(of: path) }
            }
        }
        // Keep only the outermost directories; files inside a mounted directory need no mount of their own.
        let outermost = directories.filter { directory in
            !directories.contains { $0 != directory && TESPath.isInside(directory, directory: $0) }
        }
        let looseFiles = files.filter { file in !outermost.contains { TESPath.isInside(file, directory: $0) } }
        mounts = (outermost.map { Mount(containerPath: $0, isFile: false) } + looseFiles.map { Mount(containerPath: $0, isFile: true) })
            .sorted()
    }

    /// Whether `path` (a container path) lies in one of the mounts.
    public func isMounted(_ path: String) -> Bool {
        mounts.contains { TESPath.isInside(path, directory: $0.containerPath) }
    }
}
