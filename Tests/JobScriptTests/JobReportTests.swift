import Foundation
import JobScript
import TES
import Testing

/// A queue job reports on its stdout: the markers, what the backend reads back, and the task's files removed.
@Suite struct JobReportTests {
    @Test func theReportIsReadBackFromAmongOtherOutput() {
        let stdout = "before\n\(JobReport.begin)a.jsonl\n{\"x\":1}\n{\"x\":2}\n\n\(JobReport.end)\nbetween\n\(JobReport.begin)b.jsonl\n\(JobReport.end)\n"
        let report = JobReport(parsing: stdout)
        #expect(report.files == ["a.jsonl": "{\"x\":1}\n{\"x\":2}\n", "b.jsonl": ""])
    }

    @Test func aFileWhoseEndMarkerIsMissingIsLeftOut() {
        #expect(JobReport(parsing: "\(JobReport.begin)a.jsonl\n{\"x\":1}\n").files.isEmpty)
    }

    @Test func aRealJobReportsItsRecordsAndOutputsAndLeavesNoTaskFiles() throws {
        let task = TESTask(
            inputs: [TESInput(path: "/data/in.txt", content: "hello\n")],
            outputs: [TESOutput(url: "https://example.org/out.txt", path: "/data/out.txt")],
            executors: [
                TESExecutor(image: "alpine", command: ["sh", "-c", "tr a-z A-Z < /data/in.txt | tee /data/out.txt"]),
                TESExecutor(image: "alpine", command: ["sh", "-c", "echo second >&2"]),
            ]
        )
        let run = try JobScriptRun.run(
            task: task, inputs: [(.init(uploadedName: "content-0", path: "/data/in.txt"), "hello\n")], reportsOnStdout: true)
        #expect(run.exitCode == 0, "\(run.stderr)")
        let report = JobReport(parsing: run.stdout)
        let records = JobRecords(parsing: Data((report.files[JobScript.recordsPath] ?? "").utf8))
        #expect(records.finished)
        #expect(records.executorLogs.map(\.stdout) == ["HELLO\n", ""])
        #expect(records.executorLogs.map(\.stderr) == ["", "second\n"])
        #expect(report.files[JobScript.outputsPath]?.contains("\"output\":0") == true)
        // Nobody can fetch the task's files from a queue job's host afterwards: they are gone.
        #expect(!FileManager.default.fileExists(atPath: run.root.path))
    }

    @Test func aFailedJobReportsToo() throws {
        let task = TESTask(executors: [TESExecutor(image: "alpine", command: ["sh", "-c", "echo bad >&2; exit 4"])])
        let run = try JobScriptRun.run(task: task, reportsOnStdout: true)
        let records = JobRecords(parsing: Data((JobReport(parsing: run.stdout).files[JobScript.recordsPath] ?? "").utf8))
        #expect(records.stoppedOnFailure)
        #expect(records.executorLogs.map(\.exitCode) == [4])
    }
}
