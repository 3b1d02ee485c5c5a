import Foundation
import JobScript
import TES

/// Runs a rendered job script with bash the way Pulsar does (current directory = the job's working directory),
/// with the real bwrap runtime, and reads back what it recorded.
struct JobScriptRun {
    let workingDirectory: URL
    let inputsDirectory: URL
    let exitCode: Int32
    let stderr: String
    let stdout: String

    var root: URL { workingDirectory.appendingPathComponent("root") }

    func contents(of containerPath: String) throws -> String {
        try String(contentsOf: root.appendingPathComponent(String(containerPath.dropFirst())), encoding: .utf8)
    }

    var records: [[String: Any]] {
        get throws {
            let text = try String(contentsOf: workingDirectory.appendingPathComponent(JobScript.recordsPath), encoding: .utf8)
            return try text.split(separator: "\n").map {
                try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] ?? [:]
            }
        }
    }

    /// Renders the script for `task`, uploads `contents` (name → text) into a fake inputs directory, runs it.
    static func run(
        task: TESTask,
        inputs: [(JobScript.PlacedInput, String)] = [],
        sentOutputs: [Int: JobScript.SentOutput] = [:],
        runtime: ContainerRuntime = ContainerRuntime(kind: .bwrap),
        reportsOnStdout: Bool = false,
        timeoutSeconds: Double = 120
    ) throws -> JobScriptRun {
        let job = FileManager.default.temporaryDirectory.appendingPathComponent("tesp-job-\(UUID().uuidString)")
        let working = job.appendingPathComponent("working")
        let inputsDirectory = job.appendingPathComponent("inputs")
        try FileManager.default.createDirectory(at: working, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: inputsDirectory, withIntermediateDirectories: true)
        for (input, text) in inputs {
            // An uploaded input's contents, or a fetched one's login file.
            switch input.source {
            case .uploaded(let name), .fetched(_, _, let name?):
                try text.write(to: inputsDirectory.appendingPathComponent(name), atomically: true, encoding: .utf8)
            case .fetched:
                continue
            }
        }
        var script = JobScript(
            taskID: "t1",
            task: task,
            runtime: runtime,
            // A queue job is told nothing of its directories: the inputs are found beside the working directory.
            inputsDirectory: reportsOnStdout ? nil : inputsDirectory.path,
            inputs: inputs.map(\.0),
            sentOutputs: sentOutputs,
            heartbeatSeconds: 1
        )
        script.reportsOnStdout = reportsOnStdout
        let scriptURL = job.appendingPathComponent("tesp-job.sh")
        try script.render().write(to: scriptURL, atomically: true, encoding: .utf8)
        let process = Process()
        // A script that blocks (a FIFO read, say) must fail the test (exit 137), not hang the suite.
        process.executableURL = URL(fileURLWithPath: "/usr/bin/timeout")
        process.arguments = ["--signal=KILL", String(Int(timeoutSeconds)), "/bin/bash", scriptURL.path]
        process.currentDirectoryURL = working
        // A file, not a pipe: with tests running in parallel, another test's child could inherit a pipe's write end
        // and keep it open.
        let stderrURL = job.appendingPathComponent("stderr")
        _ = FileManager.default.createFile(atPath: stderrURL.path, contents: nil)
        let stderrHandle = try FileHandle(forWritingTo: stderrURL)
        process.standardError = stderrHandle
        let stdoutURL = job.appendingPathComponent("stdout")
        _ = FileManager.default.createFile(atPath: stdoutURL.path, contents: nil)
        let stdoutHandle = try FileHandle(forWritingTo: stdoutURL)
        process.standardOutput = stdoutHandle
        try process.run()
        process.waitUntilExit()
        try stderrHandle.close()
        try stdoutHandle.close()
        return JobScriptRun(
            workingDirectory: working,
            inputsDirectory: inputsDirectory,
            exitCode: process.terminationStatus,
            stderr: try String(contentsOf: stderrURL, encoding: .utf8),
            stdout: try String(contentsOf: stdoutURL, encoding: .utf8)
        )
    }
}

func decodeBase64(_ value: Any?) -> String {
    String(decoding: Data(base64Encoded: value as? String ?? "") ?? Data(), as: UTF8.self)
}
