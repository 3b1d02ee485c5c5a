import TES

/// How executors are started on the Pulsar host: one container per executor, with the task's mounts.
public struct ContainerRuntime: Sendable, Equatable {
    /// The runtimes TESP can drive.
    public enum Kind: String, Sendable, CaseIterable, Codable {
        case docker, podman, singularity, apptainer
        /// bubblewrap: the host filesystem read-only, the task's directories bind-mounted, the image ignored.
        case bwrap
    }

    public var kind: Kind
    /// The program to run (default: the kind's name, found on the Pulsar host's PATH).
    public var executable: String

    public init(kind: Kind, executable: String? = nil) {
        self.kind = kind
        self.executable = executable.flatMap { $0.isEmpty ? nil : $0 } ?? kind.rawValue
    }

    /// The `PATH` given to executors that do not inherit an environment (bwrap clears it).
    static let defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

    /// The name of executor `index`'s container, so that it can be removed if the job is stopped.
    public static func containerName(taskID: String, index: Int) -> String { "tesp-\(taskID)-\(index)" }

    /// The command that runs `executor` (redirections are added by the job script around it).
    public func command(
        for executor: TESExecutor,
        index: Int,
        taskID: String,
        layout: TaskLayout,
        resources: TESResources?
    ) -> [ShellWord] {
        let argv = (executor.command ?? []).map { ShellWord($0) }
        let image = executor.image ?? ""
        let workdir = executor.workdir.flatMap { $0.isEmpty ? nil : $0 }
        let env = (executor.env ?? [:]).sorted { $0.key < $1.key }
        switch kind {
        case .docker, .podman:
            var words: [ShellWord] = [
                ShellWord(executable), "run", "--rm", "-i",
                ShellWord("--name=" + Self.containerName(taskID: taskID, index: index)),
            ]
            if let cpu = resources?.cpuCores { words.append(ShellWord("--cpus=\(cpu)")) }
            if let ram = resources?.ramGb { words.append(ShellWord("--memory=\(Self.bytes(gigabytes: ram))")) }
            for mount in layout.mounts {
                words += ["-v", ShellWord.hostPath(mount.containerPath) + ":\(mount.containerPath)"]
            }
            if let workdir { words += ["-w", ShellWord(workdir)] }
            for (name, value) in env { words += ["-e", ShellWord("\(name)=\(value)")] }
            // The image's entrypoint is replaced: TES `command` is the whole argv.
            if let program = argv.first {
                words += ["--entrypoint", program, ShellWord(image)] + argv.dropFirst()
            } else {
                words.append(ShellWord(image))
            }
            return words
        case .singularity, .apptainer:
            var words: [ShellWord] = [ShellWord(executable), "exec", "--contain", "--cleanenv", "--no-home"]
            for mount in layout.mounts {
                words += ["--bind", ShellWord.hostPath(mount.containerPath) + ":\(mount.containerPath)"]
            }
            if let workdir { words += ["--pwd", ShellWord(workdir)] }
            for (name, value) in env { words += ["--env", ShellWord("\(name)=\(value)")] }
            return words + [ShellWord(Self.singularityImage(image))] + argv
        case .bwrap:
            // The host's top-level directories are bound read-only onto an empty root (JobScript builds that list
            // at run time), so that mount points for the task's paths can be created.
            var words: [ShellWord] = [
                ShellWord(executable), "--tmpfs", "/", ShellWord([.array(JobScript.bwrapRootVariable)]),
                "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp",
            ]
            for mount in layout.mounts {
                words += ["--bind", ShellWord.hostPath(mount.containerPath), ShellWord(mount.containerPath)]
            }
            if let workdir {
                if !layout.isMounted(workdir) { words += ["--dir", ShellWord(workdir)] }
                words += ["--chdir", ShellWord(workdir)]
            }
            words += ["--clearenv", "--setenv", "PATH", ShellWord(Self.defaultPath)]
            for (name, value) in env { words += ["--setenv", ShellWord(name), ShellWord(value)] }
            return words + ["--die-with-parent", "--unshare-pid", "--"] + argv
        }
    }

    /// A TES image name as Singularity/Apptainer reads it: bare Docker names get `docker://`.
    static func singularityImage(_ image: String) -> String {
        if image.contains("://") || image.hasPrefix("/") || image.hasSuffix(".sif") { return image }
        return "docker://" + image
    }

    static func bytes(gigabytes: Double) -> Int64 {
        Int64((gigabytes * 1024 * 1024 * 1024).rounded(.up))
    }
}
