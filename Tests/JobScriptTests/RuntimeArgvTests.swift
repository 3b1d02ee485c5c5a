import Foundation
import TES
import Testing

@testable import JobScript

/// The argv each container runtime really receives from the job script, captured by a recording fake runtime on
/// the executable path (no Docker, Podman or Apptainer engine runs here): nothing a task gives becomes an option,
/// and the command reaches the container byte for byte.
@Suite struct RuntimeArgvTests {
    /// A program that appends its argv (each word NUL-terminated, then a record separator) to `record` and exits 0.
    static func recordingRuntime(in directory: URL) throws -> (program: String, record: URL) {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let record = directory.appendingPathComponent("argv")
        let program = directory.appendingPathComponent("fake-runtime")
        try """
        #!/bin/sh
        for word in "$@"; do printf '%s\\0' "$word"; done >> '\(record.path)'
        printf '\\036' >> '\(record.path)'
        """.write(to: program, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: program.path)
        return (program.path, record)
    }

    /// Every recorded call, as its words.
    static func calls(in record: URL) throws -> [[String]] {
        let data = try Data(contentsOf: record)
        return data.split(separator: 0x1E).map { call in
            call.split(separator: 0, omittingEmptySubsequences: false).dropLast().map { String(decoding: $0, as: UTF8.self) }
        }
    }

    static let hostileCommand = ["printf", "a'\u{301}; touch /var/tmp/x; : '\u{301}", "$(id)", "--privileged", "-v", "x\ny", "`id`"]

    static func task(image: String) -> TESTask {
        TESTask(executors: [
            TESExecutor(
                image: image,
                command: hostileCommand,
                workdir: "/data/w d",
                env: ["HOSTILE": "--volume=/:/host $(id)\n"]
            )
        ])
    }

    @Test(arguments: [ContainerRuntime.Kind.docker, .podman])
    func dockerAndPodmanGetOneOptionPerWordThenTheImageThenTheCommand(kind: ContainerRuntime.Kind) throws {
        let fake = try Self.recordingRuntime(in: FileManager.default.temporaryDirectory.appendingPathComponent("tesp-argv-\(UUID())"))
        let run = try JobScriptRun.run(
            task: Self.task(image: "quay.io/biocontainers/samtools:1.17--h00cdaf9_0"),
            runtime: ContainerRuntime(kind: kind, executable: fake.program)
        )
        #expect(run.exitCode == 0, "\(run.stderr)")
        let runs = try Self.calls(in: fake.record).filter { $0.first == "run" }
        #expect(runs.count == 1)
        let argv = try #require(runs.first)
        let end = try #require(argv.firstIndex(of: "--"))
        // Before `--`: only options, each a single `--name=value` word (or `-i`), none from the task but its values.
        for word in argv[1..<end] { #expect(["-i", "--rm"].contains(word) || word.hasPrefix("--") && word.contains("="), "\(word.debugDescription)") }
        #expect(argv[1..<end].contains("--network=none"))
        #expect(argv[1..<end].contains("--entrypoint=printf"))
        #expect(argv[1..<end].contains("--workdir=/data/w d"))
        #expect(argv[1..<end].contains("--env=HOSTILE=--volume=/:/host $(id)\n"))
        #expect(!argv[1..<end].contains { $0.hasPrefix("--privileged") || $0 == "-v" })
        #expect(Array(argv[(end + 1)...]) == ["quay.io/biocontainers/samtools:1.17--h00cdaf9_0"] + Self.hostileCommand.dropFirst())
        #expect(!FileManager.default.fileExists(atPath: "/var/tmp/x"))
    }

    @Test(arguments: [ContainerRuntime.Kind.singularity, .apptainer])
    func apptainerGetsItsIsolationOptionsThenTheImageThenTheCommand(kind: ContainerRuntime.Kind) throws {
        let fake = try Self.recordingRuntime(in: FileManager.default.temporaryDirectory.appendingPathComponent("tesp-argv-\(UUID())"))
        let run = try JobScriptRun.run(task: Self.task(image: "ubuntu:24.04"), runtime: ContainerRuntime(kind: kind, executable: fake.program))
        #expect(run.exitCode == 0, "\(run.stderr)")
        let execs = try Self.calls(in: fake.record).filter { $0.first == "exec" }
        let argv = try #require(execs.first)
        let end = try #require(argv.firstIndex(of: "--"))
        let options = Array(argv[1..<end])
        #expect(Array(options.prefix(4)) == ["--containall", "--no-home", "--net", "--network=none"])
        // Options that take a value take it as the next word; the task's values are only ever those words.
        #expect(options.contains("--pwd") && options[options.firstIndex(of: "--pwd")! + 1] == "/data/w d")
        #expect(options[options.firstIndex(of: "--env")! + 1] == "HOSTILE=--volume=/:/host $(id)\n")
        #expect(Array(argv[(end + 1)...]) == ["docker://ubuntu:24.04"] + Self.hostileCommand)
    }
}
