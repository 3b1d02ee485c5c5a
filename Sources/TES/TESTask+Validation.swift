import Foundation

/// A task that passed validation, ready to be given an id and stored.
public struct TESValidatedTask: Sendable, Equatable {
    /// The client's task with the server-owned fields (`id`, `state`, `logs`, `creation_time`) removed and
    /// unsupported `backend_parameters` dropped.
    public var task: TESTask
    /// Things the client should know but that do not reject the task (dropped backend parameters).
    public var warnings: [String]
}

extension TESTask {
    /// Checks a task a client submitted and reports every problem at once, each with its field path.
    /// - Throws: ``TESValidationError`` listing all problems.
    public func validatedForCreation(limits: TESValidationLimits) throws(TESValidationError) -> TESValidatedTask {
        var check = TaskChecker(limits: limits)
        var task = self
        task.id = nil
        task.state = nil
        task.logs = nil
        task.creationTime = nil
        check.text(name, "name")
        check.text(description, "description")
        check.executors(executors)
        check.inputs(inputs)
        check.outputs(outputs)
        check.volumes(volumes)
        check.count(tags?.count ?? 0, max: limits.maxTags, "tags")
        for (key, value) in (tags ?? [:]).sorted(by: { $0.key < $1.key }).prefix(limits.maxTags) {
            check.text(key, "tags")
            check.text(value, "tags[\(key.prefix(64))]")
            if key.utf8.count > limits.maxTagBytes || value.utf8.count > limits.maxTagBytes {
                check.fail("tags[\(key.prefix(64))]", "keys and values are at most \(limits.maxTagBytes) bytes")
            }
        }
        task.resources = check.resources(resources)
        guard check.problems.isEmpty else { throw TESValidationError(problems: check.problems) }
        return TESValidatedTask(task: task, warnings: check.warnings)
    }
}

/// Collects problems while walking a task; one method per part of the task.
private struct TaskChecker {
    let limits: TESValidationLimits
    var problems: [TESValidationError.Problem] = []
    var warnings: [String] = []

    init(limits: TESValidationLimits) { self.limits = limits }

    mutating func fail(_ field: String, _ message: String) {
        problems.append(.init(field: field, message: message))
    }

    mutating func text(_ value: String?, _ field: String) {
        if let value, value.utf8.contains(0) { fail(field, "must not contain NUL characters") }
    }

    mutating func count(_ n: Int, max: Int, _ field: String) {
        if n > max { fail(field, "at most \(max) entries are accepted, got \(n)") }
    }

    /// A path that must be given.
    mutating func requiredPath(_ path: String?, _ field: String) {
        guard let path, !path.isEmpty else { return fail(field, "required, but empty") }
        if let problem = TESPath.problem(with: path) { fail(field, problem) }
    }

    /// A path that may be absent; an empty string counts as absent, as in Funnel.
    mutating func optionalPath(_ path: String?, _ field: String, allowRoot: Bool = false) {
        guard let path, !path.isEmpty else { return }
        if let problem = TESPath.problem(with: path, allowRoot: allowRoot) { fail(field, problem) }
    }

    /// A location in storage: a URL with a scheme the server can read (inputs) or write (outputs), or an absolute
    /// path (which the spec allows as a local file), parsed by ``StorageURL``, the parser the transfers use. Local
    /// files must lie in an allowed directory (links are resolved again when the file is opened).
    mutating func location(_ url: String?, _ field: String, writing: Bool) {
        guard let url, !url.isEmpty else { return fail(field, "required, but empty") }
        text(url, field)
        let schemes = writing ? limits.writableURLSchemes : limits.readableURLSchemes
        let verb = writing ? "written to" : "read from"
        if !url.hasPrefix("/") {
            guard let colon = url.firstIndex(of: ":"), colon != url.startIndex, url.first!.isLetter,
                url[..<colon].allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "+.-".contains($0)) })
            else { return fail(field, "must be a URL with a scheme (such as ftp://host/path) or an absolute path") }
            let scheme = url[..<colon].lowercased()
            if !schemes.isEmpty, !schemes.contains(scheme) {
                let known = schemes.sorted().joined(separator: ", ")
                return fail(field, "\(scheme):// URLs cannot be \(verb) here (supported: \(known))")
            }
        } else if !schemes.isEmpty, !schemes.contains("file") {
            return fail(field, "local paths (file://) cannot be \(verb) here")
        }
        if let problem = StorageURL.problem(with: url) { return fail(field, problem) }
        guard let parsed = StorageURL(url) else { return fail(field, "cannot be parsed") }
        if parsed.scheme == "file" {
            guard TESPath.problem(with: parsed.path) == nil,
                limits.allowedFileDirectories.contains(where: { TESPath.isInside(parsed.path, directory: $0) })
            else { return fail(field, "local files are allowed only in the directories the server lists for file:// URLs") }
        }
    }

    mutating func executors(_ executors: [TESExecutor]?) {
        guard let executors else { return fail("executors", "required, but missing") }
        if executors.isEmpty { fail("executors", "at least one executor is required") }
        count(executors.count, max: limits.maxExecutors, "executors")
        for (index, executor) in executors.enumerated() {
            let field = "executors[\(index)]"
            if let problem = TESImage.problem(with: executor.image ?? "") { fail("\(field).image", problem) }
            if let command = executor.command, let program = command.first {
                if program.isEmpty { fail("\(field).command[0]", "the program to run must not be empty") }
                for (argIndex, arg) in command.enumerated() { text(arg, "\(field).command[\(argIndex)]") }
            } else {
                fail("\(field).command", "required, but empty")
            }
            optionalPath(executor.workdir, "\(field).workdir", allowRoot: true)
            optionalPath(executor.stdin, "\(field).stdin")
            optionalPath(executor.stdout, "\(field).stdout")
            optionalPath(executor.stderr, "\(field).stderr")
            for (name, value) in executor.env ?? [:] {
                if !Self.isEnvironmentName(name) {
                    fail("\(field).env", "'\(name.prefix(64))' is not a valid variable name ([A-Za-z_][A-Za-z0-9_]*)")
                }
                text(value, "\(field).env.\(name.prefix(64))")
            }
        }
    }

    mutating func inputs(_ inputs: [TESInput]?) {
        guard let inputs else { return }
        count(inputs.count, max: limits.maxInputs, "inputs")
        var seen: [String: Int] = [:]
        for (index, input) in inputs.enumerated() {
            let field = "inputs[\(index)]"
            requiredPath(input.path, "\(field).path")
            if let path = input.path.map(TESPath.normalised) {
                if let first = seen[path] {
                    fail("\(field).path", "the same path as inputs[\(first)].path")
                } else {
                    seen[path] = index
                }
            }
            text(input.name, "\(field).name")
            text(input.description, "\(field).description")
            if let content = input.content, !content.isEmpty {
                text(content, "\(field).content")
                if input.type == .directory { fail("\(field).content", "a DIRECTORY input cannot have content") }
            } else {
                guard input.url != nil else {
                    fail(field, "either url or content is required")
                    continue
                }
                location(input.url, "\(field).url", writing: false)
            }
        }
    }

    mutating func outputs(_ outputs: [TESOutput]?) {
        guard let outputs else { return }
        count(outputs.count, max: limits.maxOutputs, "outputs")
        for (index, output) in outputs.enumerated() {
            let field = "outputs[\(index)]"
            requiredPath(output.path, "\(field).path")
            location(output.url, "\(field).url", writing: true)
            text(output.name, "\(field).name")
            text(output.description, "\(field).description")
            guard let path = output.path, TESPath.hasWildcards(path) else { continue }
            guard let prefix = output.pathPrefix, !prefix.isEmpty else {
                fail("\(field).path_prefix", "required when path contains wildcards")
                continue
            }
            if let problem = TESPath.problem(with: prefix, allowRoot: true) {
                fail("\(field).path_prefix", problem)
            } else if TESPath.hasWildcards(prefix) {
                fail("\(field).path_prefix", "must not contain wildcards")
            } else if !TESPath.isInside(path, directory: prefix) || TESPath.normalised(path) == TESPath.normalised(prefix) {
                fail("\(field).path_prefix", "must be a directory that contains path")
            }
        }
    }

    mutating func volumes(_ volumes: [String]?) {
        guard let volumes else { return }
        count(volumes.count, max: limits.maxVolumes, "volumes")
        for (index, volume) in volumes.enumerated() { requiredPath(volume, "volumes[\(index)]") }
    }

    /// Checks resources and returns them with unsupported backend parameters dropped (TES 1.1: backends
    /// "shall not store or return unsupported keys"), each drop noted as a warning.
    mutating func resources(_ resources: TESResources?) -> TESResources? {
        guard var resources else { return nil }
        if let cpu = resources.cpuCores, !(1...limits.maxCPUCores).contains(cpu) {
            fail("resources.cpu_cores", "must be between 1 and \(limits.maxCPUCores), got \(cpu)")
        }
        if let ram = resources.ramGb, !(ram > 0 && ram <= limits.maxRAMGb) {
            fail("resources.ram_gb", "must be more than 0 and at most \(limits.maxRAMGb), got \(ram)")
        }
        if let disk = resources.diskGb, !(disk > 0 && disk <= limits.maxDiskGb) {
            fail("resources.disk_gb", "must be more than 0 and at most \(limits.maxDiskGb), got \(disk)")
        }
        for (index, zone) in (resources.zones ?? []).enumerated() { text(zone, "resources.zones[\(index)]") }
        guard let parameters = resources.backendParameters else { return resources }
        var kept: [String: String] = [:]
        for (key, value) in parameters.sorted(by: { $0.key < $1.key }) {
            text(value, "resources.backend_parameters.\(key.prefix(64))")
            if let supported = limits.supportedBackendParameters.first(where: {
                $0.caseInsensitiveCompare(key) == .orderedSame
            }) {
                kept[supported] = value
            } else if resources.backendParametersStrict == true {
                fail("resources.backend_parameters", "'\(key.prefix(64))' is not supported by this server")
            } else {
                warnings.append("backend parameter '\(key.prefix(64))' is not supported and was ignored")
            }
        }
        resources.backendParameters = kept.isEmpty ? nil : kept
        return resources
    }

    /// A POSIX shell variable name: `[A-Za-z_][A-Za-z0-9_]*`.
    static func isEnvironmentName(_ name: String) -> Bool {
        func isLetter(_ c: UInt8) -> Bool { (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c == 95 }
        guard let first = name.utf8.first, isLetter(first) else { return false }
        return name.utf8.allSatisfy { isLetter($0) || ($0 >= 48 && $0 <= 57) }
    }
}
