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
    /// Whether executors may use the network. `false` (the default): docker and podman run them with
    /// `--network=none`, singularity/apptainer with `--net --network=none`, bwrap with `--unshare-net` (only a
    /// loopback of their own). `true`: the runtime's default network, which for bwrap is the host's, loopback
    /// services included.
    public var network: Bool
    /// bwrap only: the uid and gid that executors run as when the job script runs as root (bwrap keeps root's
    /// file access inside its user namespace, capabilities dropped or not). The script drops to it with `setpriv`.
    public var sandboxUser: SandboxUser

    /// A numeric uid and gid.
    public struct SandboxUser: Sendable, Equatable {
        public var uid: UInt32
        public var gid: UInt32
        public init(uid: UInt32, gid: UInt32) {
            self.uid = uid
            self.gid = gid
        }
        /// `nobody:nogroup` on Debian.
        public static let nobody = SandboxUser(uid: 65534, gid: 65534)
    }

    public init(kind: Kind, executable: String? = nil, network: Bool = false, sandboxUser: SandboxUser = .nobody) {
        self.kind = kind
        self.executable = executable.flatMap { $0.isEmpty ? nil : $0 } ?? kind.rawValue
        self.network = network
        self.sandboxUser = sandboxUser
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
            // Every option is one `--name=value` word, and `--` ends the options before the image: nothing a task
            // gives can be read as an option (the image is also validated when the task is created).
            var words: [ShellWord] = [
                ShellWord(executable), "run", "--rm", "-i",
                ShellWord("--name=" + Self.containerName(taskID: taskID, index: index)),
            ]
            if !network { words.append("--network=none") }
            if let cpu = resources?.cpuCores { words.append(ShellWord("--cpus=\(cpu)")) }
            if let ram = resources?.ramGb { words.append(ShellWord("--memory=\(Self.bytes(gigabytes: ram))")) }
            for mount in layout.mounts {
                words.append(ShellWord("--volume=") + ShellWord.hostPath(mount.containerPath) + ":\(mount.containerPath)")
            }
            if let workdir { words.append(ShellWord("--workdir=" + workdir)) }
            for (name, value) in env { words.append(ShellWord("--env=\(name)=\(value)")) }
            // The image's entrypoint is replaced: TES `command` is the whole argv.
            if let program = argv.first {
                words += [ShellWord("--entrypoint=") + program, "--", ShellWord(image)] + argv.dropFirst()
            } else {
                words += ["--", ShellWord(image)]
            }
            return words
        case .singularity, .apptainer:
            // --containall: a PID and IPC namespace of its own (no process outlives the executor), a clean
            // environment and only the binds below.
            var words: [ShellWord] = [ShellWord(executable), "exec", "--containall", "--no-home"]
            if !network { words += ["--net", "--network=none"] }
            for mount in layout.mounts {
                words += ["--bind", ShellWord.hostPath(mount.containerPath) + ":\(mount.containerPath)"]
            }
            if let workdir { words += ["--pwd", ShellWord(workdir)] }
            for (name, value) in env { words += ["--env", ShellWord("\(name)=\(value)")] }
            return words + ["--", ShellWord(Self.singularityImage(image))] + argv
        case .bwrap:
            // Unprivileged and isolated: a user namespace (the job script first drops root to `sandboxUser` with
            // setpriv, the array being empty otherwise), no capabilities, its own PID, IPC, UTS and (by default)
            // network namespaces, a new session (no TIOCSTI into the script's terminal). The host's top-level
            // directories are bound read-only onto an empty root (JobScript builds that list at run time), so that
            // mount points for the task's paths can be created; Pulsar's staging directory is hidden under a tmpfs.
            var words: [ShellWord] = [
                ShellWord([.array(JobScript.dropPrivilegesVariable)]),
                ShellWord(executable), "--unshare-user", "--unshare-ipc", "--unshare-uts", "--unshare-pid",
            ]
            if !network { words.append("--unshare-net") }
            words += [
                "--new-session", "--die-with-parent", "--cap-drop", "ALL",
                // bwrap reports on fd 3 when the command has run ("exit-code"): without that record, the sandbox
                // could not be set up, which is a system error, not the executor's (see JobScript).
                "--json-status-fd", "3",
                "--tmpfs", "/", ShellWord([.array(JobScript.bwrapRootVariable)]),
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
            return words + ["--"] + argv
        }
    }

    /// A TES image name as Singularity/Apptainer reads it: bare OCI names get `docker://`; only an absolute path
    /// names a file (a relative `x.sif` would be looked up in the job's directory).
    static func singularityImage(_ image: String) -> String {
        if image.contains("://") || image.hasPrefix("/") { return image }
        return "docker://" + image
    }

    static func bytes(gigabytes: Double) -> Int64 {
        Int64((gigabytes * 1024 * 1024 * 1024).rounded(.up))
    }
}
