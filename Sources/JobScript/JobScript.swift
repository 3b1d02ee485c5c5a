import TES

/// The bash script that runs one task's executors on the Pulsar host.
///
/// Pulsar runs it with the job's working directory as the current directory. It creates the host twins of the
/// task's mounts under `working/root`, places the inputs TESP uploaded, then runs each executor in its own
/// container with stdin/stdout/stderr redirected to the twins of the TES paths. For each executor it appends a
/// start and an end record to `working/tesp/executors.jsonl` (times in ms, exit code, base64 tails of stdout and
/// stderr), which TESP reads back. It stops after the first failing executor unless that one has `ignore_error`.
/// The script exits non-zero only when it could not set the task up or refused a path (a system error, reported on
/// its stderr).
///
/// The script runs on the host, with the rights of Pulsar's user, and every task path it touches may have been
/// prepared by an executor: see ``safetyFunctions`` for how it never follows what an executor planted.
public struct JobScript: Sendable {
    /// The shell variable holding the host twin of the containers' `/`.
    public static let rootVariable = "TESP_ROOT"
    /// The bash array of read-only binds of the host's top-level directories (for bwrap).
    public static let bwrapRootVariable = "TESP_BWRAP_ROOT"
    /// The bash array that runs bwrap as the sandbox user when the script runs as root (empty otherwise).
    public static let dropPrivilegesVariable = "TESP_DROP"
    /// Where the records are, relative to the job's working directory (Pulsar's `output_workdir` file type).
    public static let recordsPath = "tesp/executors.jsonl"
    /// The files each output matched, written after the last executor when all succeeded.
    public static let outputsPath = "tesp/outputs.jsonl"
    /// The host twin of the containers' `/`, relative to the working directory (for downloading outputs).
    public static let rootPath = "root"
    /// The most of each executor's stdout and stderr the records keep (the end of it).
    public static let tailBytes = 64 * 1024
    /// What the tails of all executors of one task may add up to: with the task itself (at most
    /// `server.max_body_bytes`) it must fit one MongoDB document (16 MiB).
    public static let tailBudgetBytes = 6 * 1024 * 1024

    /// The tail kept of each executor's stdout and of its stderr: 64 KiB, less for tasks with so many executors
    /// that their tails would pass ``tailBudgetBytes`` (never under 1 KiB; 1,000 executors keep 3 KiB each).
    public static func tailBytes(executors: Int) -> Int {
        max(1024, min(tailBytes, tailBudgetBytes / max(1, 2 * executors)))
    }
    /// The file the script rewrites every ``heartbeatSeconds`` while it runs, relative to the working directory.
    /// TESP watches it change: a job whose heartbeat stops while Pulsar still says "running" has died (Pulsar
    /// 0.16 reports such jobs as running forever after a restart).
    public static let heartbeatPath = "tesp/heartbeat"

    /// An input file and where it goes: a file in the job's inputs directory (uploaded by TESP or fetched there
    /// by Pulsar), or a URL the script downloads itself on the Pulsar host.
    public struct PlacedInput: Sendable, Equatable {
        public enum Source: Sendable, Equatable {
            /// The name in Pulsar's inputs directory.
            case uploaded(String)
            /// A URL fetched with curl on the Pulsar host before the first executor; `field` names the input in
            /// errors (`inputs[3]`). `credentials`: the name in Pulsar's inputs directory of a curl config file
            /// with the login (``curlCredentials(user:password:)``), for a backend trusted with it; the script
            /// makes it readable by the job's user only when it starts and deletes it before any executor runs.
            case fetched(url: String, field: String, credentials: String?)
        }

        public var source: Source
        /// The container path.
        public var path: String

        public init(uploadedName: String, path: String) {
            self.source = .uploaded(uploadedName)
            self.path = path
        }

        public init(fetching url: String, field: String, path: String, credentials: String? = nil) {
            self.source = .fetched(url: url, field: field, credentials: credentials)
            self.path = path
        }
    }

    public let taskID: String
    public let task: TESTask
    public let runtime: ContainerRuntime
    /// Pulsar's inputs directory of the job (from the REST setup call); `nil`: the one beside the working directory,
    /// where Pulsar puts a job's inputs (a job set up by a message, whose directories TESP is never told).
    public let inputsDirectory: String?
    public let inputs: [PlacedInput]
    /// An output the script uploads itself with curl (`-T`: HTTP PUT, FTP STOR).
    public struct SentOutput: Sendable, Equatable {
        public var url: String
        /// A larger file is left for TESP to send (S3's single PUT stops at 5 GiB; TESP uploads in parts).
        public var maximumBytes: Int64?

        public init(url: String, maximumBytes: Int64? = nil) {
            self.url = url
            self.maximumBytes = maximumBytes
        }
    }

    /// FILE outputs the script sends itself when every executor succeeded, by output index. One it cannot send
    /// is marked for TESP to send.
    public let sentOutputs: [Int: SentOutput]
    public let heartbeatSeconds: Int
    /// Whether the script prints its records and output list to stdout as it exits (``JobReport``), for a backend
    /// TESP cannot download files from: Pulsar over a message queue, whose final status message carries the job's
    /// stdout. The task's files are then deleted, since nobody can fetch them from the Pulsar host afterwards.
    public var reportsOnStdout = false

    public init(
        taskID: String,
        task: TESTask,
        runtime: ContainerRuntime,
        inputsDirectory: String?,
        inputs: [PlacedInput],
        sentOutputs: [Int: SentOutput] = [:],
        heartbeatSeconds: Int = 10
    ) {
        self.taskID = taskID
        self.task = task
        self.runtime = runtime
        self.inputsDirectory = inputsDirectory
        self.inputs = inputs
        self.sentOutputs = sentOutputs
        self.heartbeatSeconds = max(1, heartbeatSeconds)
    }

    /// The script text.
    public func render() -> String {
        let layout = TaskLayout(task: task)
        let tail = Self.tailBytes(executors: task.executors?.count ?? 0)
        var lines: [String] = [
            "#!/usr/bin/env bash",
            "# Generated by TESP for TES task \(taskID). Do not edit: TESP writes it anew for every submission.",
            "set -euo pipefail",
            // Physical paths: the containment checks below compare resolved paths with $TESP_ROOT.
            "TESP_WORK=$(pwd -P)",
            "\(Self.rootVariable)=\"$TESP_WORK/root\"",
            "TESP_DIR=\"$TESP_WORK/tesp\"",
            "TESP_INPUTS=\(inputsDirectory.map(ShellQuote.quote) ?? "\"$(dirname -- \"$TESP_WORK\")/inputs\"")",
            "TESP_RECORDS=\"$TESP_WORK/\(Self.recordsPath)\"",
            "mkdir -p \"$TESP_DIR\" \"$\(Self.rootVariable)\"",
            ": > \"$TESP_RECORDS\"",
        ] + reportFunction + [
            "# The heartbeat: a counter that changes while this script lives. It stops when the script ends, and by",
            "# itself if the script is killed (SIGTERM may be ignored where Pulsar runs: SIGKILL and a liveness check).",
            "TESP_MAIN=$$",
            "( n=0; while kill -0 \"$TESP_MAIN\" 2>/dev/null; do n=$((n + 1)); "
                + "echo \"$n\" > \"$TESP_WORK/\(Self.heartbeatPath).tmp\"; "
                + "mv -f \"$TESP_WORK/\(Self.heartbeatPath).tmp\" \"$TESP_WORK/\(Self.heartbeatPath)\"; "
                + "sleep \(heartbeatSeconds); done ) </dev/null >/dev/null 2>&1 &",
            "TESP_HEARTBEAT=$!",
            "trap 'kill -KILL \"$TESP_HEARTBEAT\" 2>/dev/null\(onExit)' EXIT",
            "",
        ] + Self.safetyFunctions + [
            "",
            "# The host twins of the task's mounts.",
        ]
        for mount in layout.mounts {
            let twin = ShellWord.hostPath(mount.containerPath).rendered
            if mount.isFile {
                lines.append("mkdir -p \"$(dirname -- \(twin))\" && touch -- \(twin)")
            } else {
                lines.append("mkdir -p -- \(twin)")
            }
        }
        // Docker creates a missing workdir; do the same for every runtime when it lies in a mount.
        let workdirs = Set((task.executors ?? []).compactMap { $0.workdir }.filter { !$0.isEmpty && layout.isMounted($0) })
        for workdir in workdirs.sorted() {
            lines.append("mkdir -p -- \(ShellWord.hostPath(workdir).rendered)")
        }
        let credentialFiles: [String] = inputs.compactMap { if case .fetched(_, _, let file?) = $0.source { file } else { nil } }
        if !credentialFiles.isEmpty {
            let files = credentialFiles.map(Self.inputsFile).joined(separator: " ")
            lines += [
                "", "# Logins for the inputs fetched here: the job's user's only, and gone before any executor runs.",
                "TESP_CREDENTIALS=(\(files))",
                "chmod 600 -- \"${TESP_CREDENTIALS[@]}\"",
                "trap 'rm -f -- \"${TESP_CREDENTIALS[@]}\"; kill -KILL \"$TESP_HEARTBEAT\" 2>/dev/null\(onExit)' EXIT",
            ]
        }
        lines += ["", "# Inputs: hard links to what was uploaded (copies across filesystems), downloads of the rest."]
        if inputs.contains(where: { if case .fetched = $0.source { true } else { false } }) {
            lines += Self.fetchFunction
        }
        for input in inputs {
            let target = ShellWord.hostPath(input.path).rendered
            lines.append("tesp_contained \(target) || tesp_refuse 'placing inputs' \(ShellQuote.quote(input.path))")
            lines.append("mkdir -p \"$(dirname -- \(target))\"")
            switch input.source {
            case .uploaded(let name):
                let source = Self.inputsFile(name)
                lines.append("ln -f -- \(source) \(target) 2>/dev/null || cp -f -- \(source) \(target)")
            case .fetched(let url, let field, let credentials):
                let login = credentials.map { " " + Self.inputsFile($0) } ?? ""
                lines.append("tesp_fetch \(ShellQuote.quote(field)) \(ShellQuote.quote(url)) \(target)\(login)")
            }
        }
        if !credentialFiles.isEmpty { lines.append("rm -f -- \"${TESP_CREDENTIALS[@]}\"") }
        if runtime.kind == .bwrap {
            lines += [
                "", "# bwrap: the host's top-level directories, read-only, on an empty root.",
                "\(Self.bwrapRootVariable)=()",
                "for entry in /*; do",
                "    case \"$entry\" in /proc|/dev|/sys|/tmp) continue ;; esac",
                "    if [ -L \"$entry\" ]; then \(Self.bwrapRootVariable)+=(--symlink \"$(readlink -- \"$entry\")\" \"$entry\")",
                "    else \(Self.bwrapRootVariable)+=(--ro-bind \"$entry\" \"$entry\"); fi",
                "done",
            ]
            lines += bwrapMountPointLines(layout: layout)
            lines += [
                "# Pulsar's staging directory (other jobs, this job's records) is hidden under an empty tmpfs.",
                "TESP_STAGING=$(dirname -- \"$(dirname -- \"$TESP_WORK\")\")",
                "[ \"$TESP_STAGING\" != / ] && \(Self.bwrapRootVariable)+=(--tmpfs \"$TESP_STAGING\")",
                "# Run as root, bwrap would keep root's access to every file it can see: drop to the sandbox user, who",
                "# owns the task's directories.",
                "\(Self.dropPrivilegesVariable)=()",
                "if [ \"$(id -u)\" -eq 0 ]; then",
                "    \(Self.dropPrivilegesVariable)=(setpriv --reuid=\(runtime.sandboxUser.uid) --regid=\(runtime.sandboxUser.gid) --clear-groups --)",
                "    chown -R -- \(runtime.sandboxUser.uid):\(runtime.sandboxUser.gid) \"$TESP_ROOT\"",
                "fi",
            ]
        }
        if runtime.kind == .docker || runtime.kind == .podman {
            let names = (task.executors ?? []).indices.map {
                ShellQuote.quote(ContainerRuntime.containerName(taskID: taskID, index: $0))
            }
            lines += [
                "", "# A stopped job must not leave containers running.",
                "tesp_stop() { \(ShellQuote.quote(runtime.executable)) rm -f \(names.joined(separator: " ")) >/dev/null 2>&1; "
                    + "exit 143; }",
                "trap tesp_stop TERM INT",
            ]
        }
        lines += [
            "",
            "tesp_record() { printf '%s\\n' \"$1\" >> \"$TESP_RECORDS\"; }",
            // Only a regular file inside the task's directories is read: an executor may have replaced it by a
            // symbolic link (to any host file), a FIFO (the read would block) or a device.
            "tesp_tail_own() { tail -c \(tail) -- \"$1\" 2>/dev/null | base64 -w0 || true; }",
            "tesp_tail() { if tesp_regular \"$1\"; then tesp_tail_own \"$1\"; fi; }",
            "tesp_now() { date +%s%3N; }",
            "set +e",
        ]
        for (index, executor) in (task.executors ?? []).enumerated() {
            lines += executorLines(index: index, executor: executor, layout: layout)
        }
        lines += outputLines()
        lines += ["", "tesp_record '{\"event\":\"done\"}'", "exit 0", ""]
        return lines.joined(separator: "\n")
    }

    /// What the EXIT trap adds to its own steps.
    private var onExit: String { reportsOnStdout ? "; tesp_report" : "" }

    /// `tesp_report`: the records and the output list between ``JobReport`` marker lines, then the task's files
    /// removed (run by the EXIT trap, so that a failed script reports too).
    private var reportFunction: [String] {
        guard reportsOnStdout else { return [] }
        let files = [Self.recordsPath, Self.outputsPath].map { path in
            "    if [ -f \"$TESP_WORK/\(path)\" ]; then printf '\\n%s\\n' \(ShellQuote.quote(JobReport.begin + path)); "
                + "cat -- \"$TESP_WORK/\(path)\"; printf '\\n%s\\n' \(ShellQuote.quote(JobReport.end)); fi"
        }
        return ["tesp_report() {"] + files + ["    rm -rf -- \"$\(Self.rootVariable)\" 2>/dev/null || true", "}"]
    }

    /// bwrap cannot create a mount point inside a read-only bind: a task path below an existing host directory
    /// (`/var/lib/cwl/stg…/in.txt` below `/var/lib`) would fail with "Can't mkdir parents". For each such path the
    /// script puts a tmpfs on its deepest ancestor that exists on the host, binds that ancestor's entries back
    /// read-only, and bwrap then creates the mount point in the tmpfs. Ancestors are handled shallowest first, so
    /// that a deeper one is not hidden by a later, shallower tmpfs. Paths below `/tmp`, `/dev`, `/proc` and `/sys`
    /// need nothing: those are the sandbox's own.
    private func bwrapMountPointLines(layout: TaskLayout) -> [String] {
        let root = Self.bwrapRootVariable
        var paths = layout.mounts.map(\.containerPath)
        paths += (task.executors ?? []).compactMap { $0.workdir }.filter { !$0.isEmpty && !layout.isMounted($0) }
        guard !paths.isEmpty else { return [] }
        return [
            "# Mount points below existing host directories: a tmpfs on the deepest existing ancestor, its entries back.",
            "tesp_host_ancestor() {",
            "    case \"$1\" in /tmp/*|/dev/*|/proc/*|/sys/*) echo /; return ;; esac",
            "    if [ -e \"$1\" ] && [ ! -L \"$1\" ]; then echo /; return; fi",
            "    local a; a=$(dirname -- \"$1\")",
            "    while [ \"$a\" != / ] && ! { [ -d \"$a\" ] && [ ! -L \"$a\" ]; }; do a=$(dirname -- \"$a\"); done",
            "    echo \"$a\"",
            "}",
            "TESP_ANCESTORS=()",
            "for m in \(paths.map(ShellQuote.quote).joined(separator: " ")); do",
            "    a=$(tesp_host_ancestor \"$m\"); [ \"$a\" = / ] || TESP_ANCESTORS+=(\"$a\")",
            "done",
            "declare -A TESP_TMPFS=()",
            "while IFS= read -r -d '' a; do",
            "    [ -n \"${TESP_TMPFS[$a]:-}\" ] && continue",
            "    TESP_TMPFS[$a]=1",
            "    \(root)+=(--tmpfs \"$a\")",
            "    for entry in \"$a\"/* \"$a\"/.[!.]* \"$a\"/..?*; do",
            "        if [ -L \"$entry\" ]; then \(root)+=(--symlink \"$(readlink -- \"$entry\")\" \"$entry\")",
            "        elif [ -e \"$entry\" ]; then \(root)+=(--ro-bind \"$entry\" \"$entry\"); fi",
            "    done",
            "done < <(for a in \"${TESP_ANCESTORS[@]}\"; do printf '%s\\t%s\\0' \"$(printf '%s' \"$a\" | tr -cd / | wc -c)\" \"$a\"; done "
                + "| sort -z -n | cut -z -f2-)",
        ]
    }

    /// The script's guards against paths an executor planted. The script runs on the host, and every task path it
    /// touches after the first executor started may have been replaced from inside a container: by a symbolic link
    /// to any host file, by a FIFO that blocks a read, by a device node. No task process runs while the script
    /// checks and then opens a path (each executor has ended, and its PID namespace with it), so a check is not
    /// raced.
    static let safetyFunctions: [String] = [
        "# tesp_contained HOSTPATH: HOSTPATH lies below $TESP_ROOT and no part of it is a symbolic link (it may not",
        "# exist yet). HOSTPATH is normalised, so it must equal its resolved form.",
        "tesp_contained() { local real; real=$(realpath -m -- \"$1\" 2>/dev/null) || return 1; [ \"$real\" = \"$1\" ] || return 1; "
            + "case \"$real\" in \"$TESP_ROOT\"/*) return 0 ;; esac; return 1; }",
        "# tesp_regular HOSTPATH: contained, and an existing regular file.",
        "tesp_regular() { tesp_contained \"$1\" && [ -f \"$1\" ]; }",
        "# tesp_openable HOSTPATH: contained, and a regular file or nothing yet (a redirect may create it).",
        "tesp_openable() { tesp_contained \"$1\" && { [ -f \"$1\" ] || ! [ -e \"$1\" ]; }; }",
        "# tesp_refuse STEP PATH: a system error naming the step; the job script fails (TES: SYSTEM_ERROR).",
        "tesp_refuse() { printf 'TESP refused %s: %s is a symbolic link, not a regular file, or outside the task directories\\n' "
            + "\"$1\" \"$2\" >&2; exit 1; }",
    ]

    /// `tesp_fetch FIELD URL HOSTPATH`: an FTP download on the Pulsar host, transient failures retried as TESP
    /// retries its own; a failure ends the script before any executor, naming the input (TES: SYSTEM_ERROR).
    /// Only ftp and ftps are followed (`--proto`), so a redirect or a crafted URL cannot reach another protocol.
    static let fetchFunction: [String] = [
        "tesp_fetch() {",
        "    command -v curl >/dev/null 2>&1 || { printf 'TESP could not fetch %s on the Pulsar host: curl is not installed there\\n' \"$1\" >&2; exit 1; }",
        "    local said login=()",
        // The login is read from a file (curl -K), never put in argv, where any user of the host can see it.
        "    if [ $# -ge 4 ]; then login=(--config \"$4\"); fi",
        "    said=$(curl --fail --silent --show-error --proto '=ftp,ftps,http,https' --retry 4 --retry-delay 1 --retry-connrefused "
            + "--connect-timeout 30 \"${login[@]}\" -o \"$3\" -- \"$2\" 2>&1) "
            + "|| { printf 'TESP could not fetch %s (%s) on the Pulsar host: %s\\n' \"$1\" \"$2\" \"$said\" >&2; exit 1; }",
        "}",
    ]

    /// A file in Pulsar's inputs directory of the job, as a shell word.
    private static func inputsFile(_ name: String) -> String {
        ShellWord([.variable("TESP_INPUTS"), .text("/" + name)]).rendered
    }

    /// A curl config file (`curl -K`) that logs in as `user` with `password`: one `user` line, quoted as curl's
    /// config syntax reads it (a backslash escapes `\\`, `"`, and the control characters it names).
    public static func curlCredentials(user: String, password: String) -> String {
        var quoted = ""
        // Scalars, not Characters: "\r\n" is one Character and would slip past both cases.
        for scalar in "\(user):\(password)".unicodeScalars {
            switch scalar {
            case "\\": quoted += "\\\\"
            case "\"": quoted += "\\\""
            case "\n": quoted += "\\n"
            case "\r": quoted += "\\r"
            case "\t": quoted += "\\t"
            default: quoted.unicodeScalars.append(scalar)
            }
        }
        return "user = \"\(quoted)\"\n"
    }

    /// `tesp_send INDEX URL HOSTPATH`: uploads one FILE output from the Pulsar host, transient failures retried,
    /// and marks it `sent`; a failure (curl missing, the server refusing, a pre-signed URL expired) marks it
    /// `unsent` with curl's words, and TESP then sends the file itself. Never fails the script: the executors
    /// have succeeded, and the output can still be published.
    static let sendFunction: [String] = [
        "tesp_send() {",
        "    local said size",
        "    size=$(stat -c %s -- \"$3\")",
        "    if [ \"$4\" -gt 0 ] && [ \"$size\" -gt \"$4\" ]; then said=\"$size bytes is more than one upload to this URL may carry ($4)\"",
        "    elif ! command -v curl >/dev/null 2>&1; then said='curl is not installed on the Pulsar host'",
        "    elif said=$(curl --fail --silent --show-error --proto '=http,https,ftp,ftps' --retry 4 --retry-delay 1 "
            + "--retry-connrefused --connect-timeout 30 --ftp-create-dirs -T \"$3\" -- \"$2\" 2>&1 </dev/null); then",
        "        printf '{\"output\":%d,\"sent\":true}\\n' \"$1\" >> \"$TESP_OUTPUTS\"; return 0",
        "    fi",
        "    printf '{\"output\":%d,\"unsent\":\"%s\"}\\n' \"$1\" \"$(tesp_b64 \"$said\")\" >> \"$TESP_OUTPUTS\"",
        "}",
    ]

    /// Lists, for each output, the files it matched (paths base64-encoded) or that it is missing.
    private func outputLines() -> [String] {
        guard let outputs = task.outputs, !outputs.isEmpty else { return [] }
        var lines = [
            "",
            "# Outputs: the files each one matched, for TESP to publish.",
            "TESP_OUTPUTS=\"$TESP_WORK/\(Self.outputsPath)\"",
            ": > \"$TESP_OUTPUTS\"",
            "tesp_b64() { printf '%s' \"$1\" | base64 -w0; }",
            "tesp_output_file() { printf '{\"output\":%d,\"path\":\"%s\",\"size\":%s}\\n' \"$1\" \"$(tesp_b64 \"$2\")\" "
                + "\"$(stat -c %s -- \"$TESP_ROOT$2\")\" >> \"$TESP_OUTPUTS\"; }",
            "tesp_output_missing() { printf '{\"output\":%d,\"missing\":\"%s\"}\\n' \"$1\" \"$(tesp_b64 \"$2\")\" >> \"$TESP_OUTPUTS\"; }",
            "tesp_output_refused() { printf '{\"output\":%d,\"refused\":\"%s\"}\\n' \"$1\" \"$(tesp_b64 \"$2\")\" >> \"$TESP_OUTPUTS\"; }",
            "# A file, or every regular file below a directory (find does not follow symbolic links; the start is checked).",
            "tesp_output_tree() {",
            "    if ! tesp_contained \"$TESP_ROOT$2\"; then tesp_output_refused \"$1\" \"$2\"",
            "    elif [ -d \"$TESP_ROOT$2\" ]; then",
            "        while IFS= read -r -d '' f; do tesp_output_file \"$1\" \"${f#\"$TESP_ROOT\"}\"; done "
                + "< <(find \"$TESP_ROOT$2\" -type f -print0 | sort -z)",
            "    elif [ -f \"$TESP_ROOT$2\" ]; then tesp_output_file \"$1\" \"$2\"",
            "    elif [ -e \"$TESP_ROOT$2\" ]; then tesp_output_refused \"$1\" \"$2\"",
            "    else tesp_output_missing \"$1\" \"$2\"; fi",
            "}",
        ]
        if !sentOutputs.isEmpty { lines += Self.sendFunction }
        lines += [
            "shopt -s nullglob",
        ]
        for (index, output) in outputs.enumerated() {
            guard let path = output.path else { continue }
            let normalised = TESPath.normalised(path)
            if TESPath.hasWildcards(path) {
                lines.append(
                    "for m in \"$TESP_ROOT\"\(Self.globPattern(normalised)); do tesp_output_tree \(index) \"${m#\"$TESP_ROOT\"}\"; done"
                )
            } else if output.type == .directory {
                let host = ShellWord.hostPath(normalised).rendered
                let quoted = ShellQuote.quote(normalised)
                lines.append(
                    // Contained means no link on the way: a DIRECTORY output that is not a directory is missing.
                    "if tesp_contained \(host) && ! [ -d \(host) ]; then tesp_output_missing \(index) \(quoted); "
                        + "else tesp_output_tree \(index) \(quoted); fi"
                )
            } else {
                let host = ShellWord.hostPath(normalised).rendered
                let quoted = ShellQuote.quote(normalised)
                // Checked as for TESP's own publishing (contained, a regular file) before curl reads it.
                let send = sentOutputs[index].map {
                    " && tesp_send \(index) \(ShellQuote.quote($0.url)) \(host) \($0.maximumBytes ?? 0)"
                } ?? ""
                lines.append(
                    "if ! tesp_contained \(host); then tesp_output_refused \(index) \(quoted); "
                        + "elif [ -f \(host) ]; then tesp_output_file \(index) \(quoted)\(send); "
                        + "elif [ -e \(host) ]; then tesp_output_refused \(index) \(quoted); "
                        + "else tesp_output_missing \(index) \(quoted); fi"
                )
            }
        }
        lines.append("shopt -u nullglob")
        return lines
    }

    /// A POSIX pattern as bash source: the pattern characters `*`, `?` and bracket expressions stay active,
    /// everything else is quoted, so a path can never inject shell syntax. It walks Unicode scalars, not
    /// `Character`s: a combining mark after `'` or `[` must not hide that byte from the quoting (see ``ShellQuote``).
    static func globPattern(_ pattern: String) -> String {
        var out = ""
        var literal = ""
        func flush() {
            if !literal.isEmpty { out += ShellQuote.quote(literal) }
            literal = ""
        }
        func isSafeInSet(_ scalar: Unicode.Scalar) -> Bool {
            ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar) || ("0"..."9").contains(scalar) || scalar == "-"
        }
        let scalars = Array(pattern.unicodeScalars)
        var index = 0
        while index < scalars.count {
            let scalar = scalars[index]
            switch scalar {
            case "*", "?":
                flush()
                out.unicodeScalars.append(scalar)
                index += 1
            case "[":
                // A ']' right after '[' (or after '[!' / '[^') belongs to the set, as in POSIX.
                var searchFrom = index + 1
                if searchFrom < scalars.count, scalars[searchFrom] == "!" || scalars[searchFrom] == "^" { searchFrom += 1 }
                if searchFrom < scalars.count, scalars[searchFrom] == "]" { searchFrom += 1 }
                guard searchFrom < scalars.count, let close = scalars[searchFrom...].firstIndex(of: "]") else {
                    literal.unicodeScalars.append(scalar)
                    index += 1
                    continue
                }
                flush()
                out += "["
                for (offset, inner) in scalars[(index + 1)..<close].enumerated() {
                    if isSafeInSet(inner) || (offset == 0 && (inner == "!" || inner == "^")) {
                        out.unicodeScalars.append(inner)
                    } else {
                        // Each other member quoted on its own ('\'' for the quote itself); quoted members of a
                        // bracket expression still match literally in bash.
                        out += ShellQuote.quote(String(inner))
                    }
                }
                out += "]"
                index = close + 1
            default:
                literal.unicodeScalars.append(scalar)
                index += 1
            }
        }
        flush()
        return out
    }

    private func executorLines(index: Int, executor: TESExecutor, layout: TaskLayout) -> [String] {
        func twin(_ path: String?) -> String? {
            guard let path, !path.isEmpty else { return nil }
            return ShellWord.hostPath(TESPath.normalised(path)).rendered
        }
        let command = runtime.command(
            for: executor,
            index: index,
            taskID: taskID,
            layout: layout,
            resources: task.resources
        ).map(\.rendered).joined(separator: " ")
        var lines = ["", "# Executor \(index)"]
        // A task path given for a redirect is checked before it is opened (an earlier executor may have planted a
        // link there) and read back only if it is still a regular file of the task's (this one may have).
        var redirects: [(name: String, file: String, tail: String)] = []
        for (name, path) in [("stderr", executor.stderr), ("stdout", executor.stdout)] {
            if let file = twin(path) {
                let step = ShellQuote.quote("executor \(index)'s \(name)")
                lines.append("tesp_openable \(file) || tesp_refuse \(step) \(ShellQuote.quote(path ?? ""))")
                lines.append(": > \(file)")
                if runtime.kind == .bwrap {
                    lines.append(
                        "[ ${#\(Self.dropPrivilegesVariable)[@]} -eq 0 ] || chown -- \(runtime.sandboxUser.uid):\(runtime.sandboxUser.gid) \(file)"
                    )
                }
                redirects.append((name, file, "tesp_tail \(file)"))
            } else {
                let file = "\"$TESP_DIR/executor-\(index).\(name)\""
                redirects.append((name, file, "tesp_tail_own \(file)"))
            }
        }
        let stdinFile = twin(executor.stdin) ?? "/dev/null"
        if let stdin = executor.stdin, !stdin.isEmpty {
            // A missing stdin file is left to the redirect, which reports it in the executor's own stderr.
            lines.append("tesp_openable \(stdinFile) || tesp_refuse \(ShellQuote.quote("executor \(index)'s stdin")) \(ShellQuote.quote(stdin))")
        }
        let stderr = redirects[0]
        let stdout = redirects[1]
        lines += [
            "tesp_start=$(tesp_now)",
            "tesp_record \"{\\\"event\\\":\\\"start\\\",\\\"executor\\\":\(index),\\\"time\\\":$tesp_start}\"",
            // stderr is redirected first, so that a missing stdin file is reported in the executor's own stderr.
            "\(command) 2> \(stderr.file) > \(stdout.file) < \(stdinFile)"
                + (runtime.kind == .bwrap ? " 3> \"$TESP_DIR/executor-\(index).status\"" : ""),
            "tesp_code=$?",
        ]
        lines += startFailureLines(index: index, stderrTail: stderr.tail)
        lines += [
            "tesp_record \"{\\\"event\\\":\\\"end\\\",\\\"executor\\\":\(index),\\\"time\\\":$(tesp_now),\\\"exit_code\\\":$tesp_code,"
                + "\\\"stdout\\\":\\\"$(\(stdout.tail))\\\",\\\"stderr\\\":\\\"$(\(stderr.tail))\\\"}\"",
        ]
        if executor.ignoreError != true {
            lines.append("if [ \"$tesp_code\" -ne 0 ]; then tesp_record '{\"event\":\"stopped\"}'; exit 0; fi")
        }
        return lines
    }

    /// A runtime that could not start the executor is a system error (TES: SYSTEM_ERROR), not the executor's:
    /// bwrap wrote no "exit-code" status (a mount it could not make, a namespace it could not create), docker
    /// and podman exited 125. The script fails naming the executor and quoting the runtime's message. A command
    /// that does not exist stays the executor's error, with exit code 127 as docker gives it, and so does a
    /// missing stdin file.
    private func startFailureLines(index: Int, stderrTail: String) -> [String] {
        let message = "printf 'executor \(index) could not be started by \(runtime.kind.rawValue): %s\\n' "
            + "\"$(\(stderrTail) | base64 -d 2>/dev/null | tail -c 2000)\" >&2; exit 1"
        switch runtime.kind {
        case .bwrap:
            return [
                // No status file: a redirect failed before bwrap ran (a missing stdin file), the executor's error.
                "if [ -e \"$TESP_DIR/executor-\(index).status\" ] && ! grep -q '\"exit-code\"' \"$TESP_DIR/executor-\(index).status\"; then",
                "    if \(stderrTail) | base64 -d 2>/dev/null | tail -n 1 | grep -q '^bwrap: execvp '; then tesp_code=127",
                "    else \(message); fi",
                "fi",
            ]
        case .docker, .podman:
            return ["if [ \"$tesp_code\" -eq 125 ]; then \(message); fi"]
        case .singularity, .apptainer:
            return []
        }
    }
}
