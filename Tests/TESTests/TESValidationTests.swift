import TES
import Testing

@Suite struct TESValidationTests {
    @Test func theReadmeTaskIsValid() throws {
        let validated = try decodeTask(md5sumTaskJSON).validatedForCreation(limits: .init())
        #expect(validated.warnings.isEmpty)
        #expect(validated.task.executors?.count == 1)
    }

    @Test func serverOwnedFieldsAreDropped() throws {
        var task = minimalTask()
        task.id = "mine"
        task.state = .complete
        task.logs = [TESTaskLog(systemLogs: ["forged"])]
        task.creationTime = .distantPast
        let validated = try task.validatedForCreation(limits: .init()).task
        #expect(validated.id == nil && validated.state == nil && validated.logs == nil && validated.creationTime == nil)
    }

    @Test func executorsAreRequiredAndComplete() {
        #expect(problemFields(TESTask()) == ["executors"])
        #expect(problemFields(TESTask(executors: [])) == ["executors"])
        #expect(problemFields(minimalTask(TESExecutor(image: " ", command: ["ls"]))) == ["executors[0].image"])
        #expect(problemFields(minimalTask(TESExecutor(image: "a", command: []))) == ["executors[0].command"])
        #expect(problemFields(minimalTask(TESExecutor(image: "a"))) == ["executors[0].command"])
        #expect(problemFields(minimalTask(TESExecutor(image: "a", command: ["", "x"]))) == ["executors[0].command[0]"])
        // Empty arguments after the program are legitimate argv entries.
        #expect(problemFields(minimalTask(TESExecutor(image: "a", command: ["printf", "", "$x"]))) == [])
    }

    @Test func pathsMustBeAbsoluteAndNormalised() {
        for bad in ["data/x", "/data/../etc/passwd", "/data//x", "/data/./x", "/..", "/a/..", "/"] {
            #expect(
                problemFields(TESTask(inputs: [TESInput(path: bad, content: "x")], executors: minimalTask().executors))
                    == ["inputs[0].path"],
                "\(bad)"
            )
        }
        let executor = TESExecutor(
            image: "a",
            command: ["b"],
            workdir: "rel",
            stdin: "/a/../b",
            stdout: "//x",
            stderr: "/ok/err.txt"
        )
        #expect(problemFields(minimalTask(executor)) == ["executors[0].workdir", "executors[0].stdin", "executors[0].stdout"])
        #expect(problemFields(TESTask(executors: minimalTask().executors, volumes: ["/vol/A/", "vol"])) == ["volumes[1]"])
        #expect(problemFields(minimalTask(TESExecutor(image: "a", command: ["b"], workdir: "/"))) == [])
    }

    @Test func pathRulesInDetail() {
        #expect(TESPath.problem(with: "/data/") == nil)
        #expect(TESPath.problem(with: "/data/..x/y") == nil)
        #expect(TESPath.problem(with: "/data\0x") != nil)
        #expect(TESPath.isInside("/data/a/b", directory: "/data/"))
        #expect(!TESPath.isInside("/database", directory: "/data"))
        #expect(TESPath.hasWildcards("/out/*.txt") && !TESPath.hasWildcards("/out/a.txt"))
    }

    @Test func inputsNeedAURLOrContent() {
        let executors = minimalTask().executors
        #expect(problemFields(TESTask(inputs: [TESInput(path: "/a")], executors: executors)) == ["inputs[0]"])
        #expect(problemFields(TESTask(inputs: [TESInput(url: "", path: "/a")], executors: executors)) == ["inputs[0].url"])
        #expect(problemFields(TESTask(inputs: [TESInput(url: "no-scheme", path: "/a")], executors: executors)) == ["inputs[0].url"])
        let local = TESValidationLimits(allowedFileDirectories: ["/abs"])
        #expect(problemFields(TESTask(inputs: [TESInput(url: "/abs/file", path: "/a")], executors: executors), limits: local) == [])
        #expect(problemFields(TESTask(inputs: [TESInput(url: "file:///abs/f", path: "/a")], executors: executors), limits: local) == [])
        #expect(problemFields(TESTask(inputs: [TESInput(url: "/etc/passwd", path: "/a")], executors: executors), limits: local) == ["inputs[0].url"])
        #expect(
            problemFields(TESTask(inputs: [TESInput(url: "file:///abs/../etc/passwd", path: "/a")], executors: executors), limits: local) == [
                "inputs[0].url"
            ]
        )
        #expect(problemFields(TESTask(inputs: [TESInput(url: "/abs/file", path: "/a")], executors: executors)) == ["inputs[0].url"])
        let ftpOnly = TESValidationLimits(readableURLSchemes: ["ftp"], writableURLSchemes: ["ftp"])
        #expect(problemFields(TESTask(inputs: [TESInput(url: "s3://b/k", path: "/a")], executors: executors), limits: ftpOnly) == ["inputs[0].url"])
        #expect(problemFields(TESTask(inputs: [TESInput(url: "FTP://h/k", path: "/a")], executors: executors), limits: ftpOnly) == [])
        #expect(problemFields(TESTask(inputs: [TESInput(url: "s3://b/k", path: "/a")], executors: executors)) == [])
        // What can be read is not always what can be written (DRS is read-only).
        let drsReads = TESValidationLimits(readableURLSchemes: ["drs", "s3"], writableURLSchemes: ["s3"])
        #expect(problemFields(TESTask(inputs: [TESInput(url: "drs://h/o", path: "/a")], executors: executors), limits: drsReads) == [])
        #expect(
            problemFields(TESTask(outputs: [TESOutput(url: "drs://h/o", path: "/a")], executors: executors), limits: drsReads) == [
                "outputs[0].url"
            ]
        )
        // With content, the url is ignored (even a bad one).
        #expect(problemFields(TESTask(inputs: [TESInput(url: "junk", path: "/a", content: "hi")], executors: executors)) == [])
        let directoryWithContent = TESInput(path: "/d", type: .directory, content: "x")
        #expect(problemFields(TESTask(inputs: [directoryWithContent], executors: executors)) == ["inputs[0].content"])
        let duplicate = [TESInput(path: "/a", content: "1"), TESInput(path: "/a/", content: "2")]
        #expect(problemFields(TESTask(inputs: duplicate, executors: executors)) == ["inputs[1].path"])
    }

    @Test func contentOf128KiBIsAccepted() {
        let content = String(repeating: "x", count: 128 * 1024)
        #expect(problemFields(TESTask(inputs: [TESInput(path: "/a", content: content)], executors: minimalTask().executors)) == [])
    }

    @Test func outputsNeedAURLAndWildcardsNeedAPrefix() {
        let executors = minimalTask().executors
        func fields(_ output: TESOutput) -> [String] { problemFields(TESTask(outputs: [output], executors: executors)) }
        #expect(fields(TESOutput(path: "/out/a")) == ["outputs[0].url"])
        #expect(fields(TESOutput(url: "ftp://h/d/", path: "/out/*.txt")) == ["outputs[0].path_prefix"])
        #expect(fields(TESOutput(url: "ftp://h/d/", path: "/out/*.txt", pathPrefix: "/elsewhere")) == ["outputs[0].path_prefix"])
        #expect(fields(TESOutput(url: "ftp://h/d/", path: "/out/*.txt", pathPrefix: "/out/")) == [])
        #expect(fields(TESOutput(url: "ftp://h/d/", path: "/out/../*.txt", pathPrefix: "/out")) == ["outputs[0].path"])
    }

    @Test func resourcesMustBeSensible() {
        func fields(_ resources: TESResources) -> [String] {
            problemFields(TESTask(resources: resources, executors: minimalTask().executors))
        }
        #expect(fields(TESResources(cpuCores: 0)) == ["resources.cpu_cores"])
        #expect(fields(TESResources(cpuCores: 100_000)) == ["resources.cpu_cores"])
        #expect(fields(TESResources(ramGb: -1)) == ["resources.ram_gb"])
        #expect(fields(TESResources(ramGb: 1e12)) == ["resources.ram_gb"])
        #expect(fields(TESResources(diskGb: .nan)) == ["resources.disk_gb"])
        #expect(fields(TESResources(cpuCores: 4, ramGb: 8, diskGb: 40)) == [])
    }

    @Test func backendParametersStrictRejectsUnsupportedKeys() throws {
        let limits = TESValidationLimits(supportedBackendParameters: ["VmSize"])
        let strict = TESTask(
            resources: TESResources(backendParameters: ["vmsize": "big", "gpu": "1"], backendParametersStrict: true),
            executors: minimalTask().executors
        )
        #expect(problemFields(strict, limits: limits) == ["resources.backend_parameters"])

        var lenient = strict
        lenient.resources?.backendParametersStrict = false
        let validated = try lenient.validatedForCreation(limits: limits)
        // Supported keys match case-insensitively and keep the server's spelling; others are dropped with a warning.
        #expect(validated.task.resources?.backendParameters == ["VmSize": "big"])
        #expect(validated.warnings == ["backend parameter 'gpu' is not supported and was ignored"])
    }

    @Test func environmentNamesMustBeShellNames() {
        #expect(problemFields(minimalTask(TESExecutor(image: "a", command: ["b"], env: ["OK_1": "x", "_y": ""]))) == [])
        #expect(problemFields(minimalTask(TESExecutor(image: "a", command: ["b"], env: ["1X": "x"]))) == ["executors[0].env"])
        #expect(problemFields(minimalTask(TESExecutor(image: "a", command: ["b"], env: ["A;rm": "x"]))) == ["executors[0].env"])
    }

    @Test func countsAreBounded() {
        let many = Array(repeating: TESExecutor(image: "a", command: ["b"]), count: 11)
        #expect(problemFields(TESTask(executors: many), limits: TESValidationLimits(maxExecutors: 10)) == ["executors"])
    }

    @Test func nulCharactersAreRejected() {
        #expect(problemFields(minimalTask(TESExecutor(image: "a", command: ["b", "x\0y"]))) == ["executors[0].command[1]"])
        #expect(problemFields(TESTask(name: "a\0", executors: minimalTask().executors)) == ["name"])
    }

    @Test func everyProblemIsReportedAtOnce() {
        let task = TESTask(
            inputs: [TESInput(path: "rel")],
            outputs: [TESOutput(path: "/o")],
            executors: [TESExecutor(image: "", command: [])]
        )
        let fields = problemFields(task)
        #expect(fields == ["executors[0].image", "executors[0].command", "inputs[0].path", "inputs[0]", "outputs[0].url"])
    }
}
