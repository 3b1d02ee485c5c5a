import Foundation
import TES
import Testing

@testable import JobScript

/// The generated job script, run for real with bash and bubblewrap (no Pulsar needed).
@Suite struct JobScriptTests {
    @Test func theMd5sumTaskRunsWithRedirects() throws {
        let task = TESTask(
            inputs: [TESInput(path: "/data/file1", content: "hello TES\n")],
            outputs: [TESOutput(url: "ftp://h/out", path: "/data/outfile")],
            executors: [TESExecutor(image: "ubuntu", command: ["md5sum"], stdin: "/data/file1", stdout: "/data/outfile")]
        )
        let run = try JobScriptRun.run(
            task: task,
            inputs: [(JobScript.PlacedInput(uploadedName: "content-0", path: "/data/file1"), "hello TES\n")]
        )
        #expect(run.exitCode == 0, "\(run.stderr)")
        #expect(try run.contents(of: "/data/outfile") == "30b9a48f44cd61cde329225bf1f647f2  -\n")
        let records = try run.records
        #expect(records.map { $0["event"] as? String } == ["start", "end", "done"])
        #expect(records[1]["exit_code"] as? Int == 0)
        #expect(decodeBase64(records[1]["stdout"]) == "30b9a48f44cd61cde329225bf1f647f2  -\n")
        let start = try #require(records[0]["time"] as? Int)
        let end = try #require(records[1]["time"] as? Int)
        #expect(end >= start && start > 1_700_000_000_000)
    }

    @Test func anInputTheScriptCannotFetchEndsItBeforeAnyExecutorNamingTheInput() throws {
        let task = TESTask(
            inputs: [TESInput(url: "ftp://127.0.0.1:9/ref.fa", path: "/data/ref.fa")],
            executors: [TESExecutor(image: "ubuntu", command: ["true"])]
        )
        let refused = try JobScriptRun.run(
            task: task,
            inputs: [(JobScript.PlacedInput(fetching: "ftp://127.0.0.1:9/ref.fa", field: "inputs[0]", path: "/data/ref.fa"), "")]
        )
        #expect(refused.exitCode == 1)
        #expect(refused.stderr.contains("TESP could not fetch inputs[0] (ftp://127.0.0.1:9/ref.fa) on the Pulsar host: curl: (7)"), "\(refused.stderr)")
        #expect(try refused.records.isEmpty)
        // Only FTP: a URL of another protocol is not followed, whatever reaches the script.
        let other = try JobScriptRun.run(
            task: task,
            inputs: [(JobScript.PlacedInput(fetching: "file:///etc/passwd", field: "inputs[0]", path: "/data/ref.fa"), "")]
        )
        #expect(other.exitCode == 1 && other.stderr.contains("curl: (1)"), "\(other.stderr)")
    }

    @Test func aLoginIsACurlConfigLineWhateverThePasswordHolds() {
        #expect(JobScript.curlCredentials(user: "u", password: "p") == "user = \"u:p\"\n")
        #expect(JobScript.curlCredentials(user: "u", password: #"a"b\c"#) == #"user = "u:a\"b\\c""# + "\n")
        // A line break cannot end the line and start another option.
        #expect(JobScript.curlCredentials(user: "u", password: "x\r\nurl = \"file:///etc/shadow\"") == #"user = "u:x\r\nurl = \"file:///etc/shadow\"""# + "\n")
    }

    @Test func aLoginFileIsTheJobUsersOnlyAndGoneBeforeAnyExecutorEvenWhenTheFetchFails() throws {
        let task = TESTask(executors: [TESExecutor(image: "ubuntu", command: ["true"])])
        let input = JobScript.PlacedInput(fetching: "ftp://127.0.0.1:9/ref.fa", field: "inputs[0]", path: "/data/ref.fa", credentials: "tesp-login-0")
        let script = JobScript(taskID: "t1", task: task, runtime: ContainerRuntime(kind: .bwrap), inputsDirectory: "/in", inputs: [input]).render()
        let chmod = try #require(script.range(of: "chmod 600 -- \"${TESP_CREDENTIALS[@]}\""))
        let fetch = try #require(script.range(of: "tesp_fetch 'inputs[0]' 'ftp://127.0.0.1:9/ref.fa' \"${TESP_ROOT}\"'/data/ref.fa' \"${TESP_INPUTS}\"'/tesp-login-0'"))
        let removal = try #require(script.range(of: "rm -f -- \"${TESP_CREDENTIALS[@]}\"\n"))
        let firstExecutor = try #require(script.range(of: "# Executor 0"))
        #expect(chmod.upperBound < fetch.lowerBound && fetch.upperBound < removal.lowerBound && removal.upperBound < firstExecutor.lowerBound)
        // Run: the fetch fails (nothing listens on port 9), and the trap still removes the login.
        let run = try JobScriptRun.run(task: task, inputs: [(input, JobScript.curlCredentials(user: "u", password: "pw-zq"))])
        #expect(run.exitCode == 1 && run.stderr.contains("TESP could not fetch inputs[0] (ftp://127.0.0.1:9/ref.fa)"), "\(run.stderr)")
        #expect(!run.stderr.contains("pw-zq"))
        #expect(!FileManager.default.fileExists(atPath: run.inputsDirectory.appendingPathComponent("tesp-login-0").path))
    }

    @Test func anOutputTheScriptCannotSendIsLeftForTESPAndTheJobStillSucceeds() throws {
        let task = TESTask(
            outputs: [TESOutput(url: "http://127.0.0.1:9/out.txt", path: "/data/out.txt"), TESOutput(url: "s3://b/k", path: "/data/kept.txt")],
            executors: [TESExecutor(image: "ubuntu", command: ["sh", "-c", "echo out > /data/out.txt; echo kept > /data/kept.txt"])]
        )
        let run = try JobScriptRun.run(task: task, sentOutputs: [0: JobScript.SentOutput(url: "http://127.0.0.1:9/out.txt")])
        #expect(run.exitCode == 0, "\(run.stderr)")
        #expect(try run.records.last?["event"] as? String == "done")
        let listed = try String(contentsOf: run.workingDirectory.appendingPathComponent(JobScript.outputsPath), encoding: .utf8)
        let lines = listed.split(separator: "\n").map(String.init)
        #expect(lines.count == 3, "\(listed)")
        #expect(lines[0].hasPrefix("{\"output\":0,\"path\":"))
        let unsent = try #require(lines[1].split(separator: "\"").dropFirst(5).first)
        #expect(lines[1].hasPrefix("{\"output\":0,\"unsent\":"))
        #expect(decodeBase64(String(unsent)).hasPrefix("curl: (7)"))
        // An output without a URL to send to is only listed.
        #expect(lines[2].hasPrefix("{\"output\":1,\"path\":"))
    }

    @Test func anOutputLargerThanItsURLMayCarryIsLeftForTESPWithoutTryingIt() throws {
        let task = TESTask(
            outputs: [TESOutput(url: "http://127.0.0.1:9/big.txt", path: "/data/big.txt")],
            executors: [TESExecutor(image: "ubuntu", command: ["sh", "-c", "printf 0123456789 > /data/big.txt"])]
        )
        let run = try JobScriptRun.run(task: task, sentOutputs: [0: JobScript.SentOutput(url: "http://127.0.0.1:9/big.txt", maximumBytes: 9)])
        #expect(run.exitCode == 0, "\(run.stderr)")
        let listed = try String(contentsOf: run.workingDirectory.appendingPathComponent(JobScript.outputsPath), encoding: .utf8)
        let lines = listed.split(separator: "\n").map(String.init)
        #expect(lines.count == 2, "\(listed)")
        let unsent = try #require(lines[1].split(separator: "\"").dropFirst(5).first)
        // The size check comes first: no connection was tried (port 9 would have said "curl: (7)").
        #expect(decodeBase64(String(unsent)) == "10 bytes is more than one upload to this URL may carry (9)")
    }

    @Test func everyArgumentReachesTheProgramUnchanged() throws {
        let argv = ["a b", "it's", "\"q\"", "$HOME", "*", ";", "http://x", "./a", "", "`id`", "\\n", "é", "--", "-e"]
        let task = TESTask(
            executors: [TESExecutor(image: "x", command: ["/usr/bin/printf", "[%s]\\n"] + argv, stdout: "/out/argv")])
        let run = try JobScriptRun.run(task: task)
        #expect(run.exitCode == 0, "\(run.stderr)")
        #expect(try run.contents(of: "/out/argv") == argv.map { "[\($0)]\n" }.joined())
    }

    @Test func executorsShareVolumesAndSeeEnvAndWorkdir() throws {
        let task = TESTask(
            executors: [
                TESExecutor(
                    image: "x",
                    command: ["sh", "-c", "echo \"$GREETING\" > /vol/msg; pwd"],
                    workdir: "/vol",
                    env: ["GREETING": "hi there"]
                ),
                TESExecutor(image: "x", command: ["cat", "/vol/msg"]),
            ],
            volumes: ["/vol"]
        )
        let run = try JobScriptRun.run(task: task)
        #expect(run.exitCode == 0, "\(run.stderr)")
        let ends = try run.records.filter { $0["event"] as? String == "end" }
        #expect(ends.count == 2)
        #expect(decodeBase64(ends[0]["stdout"]) == "/vol\n")
        #expect(decodeBase64(ends[1]["stdout"]) == "hi there\n")
    }

    @Test func aFailingExecutorStopsTheRestUnlessIgnored() throws {
        let failing = TESExecutor(image: "x", command: ["sh", "-c", "echo oops >&2; exit 3"])
        let after = TESExecutor(image: "x", command: ["echo", "after"])
        let stopped = try JobScriptRun.run(task: TESTask(executors: [failing, after]))
        let events = try stopped.records.map { $0["event"] as? String }
        #expect(events == ["start", "end", "stopped"])
        let end = try stopped.records[1]
        #expect(end["exit_code"] as? Int == 3)
        #expect(decodeBase64(end["stderr"]) == "oops\n")

        var ignored = failing
        ignored.ignoreError = true
        let continued = try JobScriptRun.run(task: TESTask(executors: [ignored, after]))
        let ends = try continued.records.filter { $0["event"] as? String == "end" }
        #expect(ends.map { $0["exit_code"] as? Int } == [3, 0])
        #expect(try continued.records.last?["event"] as? String == "done")
    }

    @Test func aMissingStdinFileIsTheExecutorsError() throws {
        let task = TESTask(executors: [TESExecutor(image: "x", command: ["cat"], stdin: "/data/missing")])
        let run = try JobScriptRun.run(task: task)
        #expect(run.exitCode == 0)
        let end = try #require(try run.records.first { $0["event"] as? String == "end" })
        #expect(end["exit_code"] as? Int != 0)
        #expect(decodeBase64(end["stderr"]).contains("/data/missing"))
    }

    @Test func stderrGoesToItsFileAndTheLogKeepsOnlyTheTail() throws {
        let task = TESTask(
            executors: [
                TESExecutor(image: "x", command: ["sh", "-c", "head -c 100000 /dev/zero | tr '\\0' x >&2"], stderr: "/logs/err.txt")
            ])
        let run = try JobScriptRun.run(task: task)
        #expect(try run.contents(of: "/logs/err.txt").count == 100_000)
        let end = try #require(try run.records.first { $0["event"] as? String == "end" })
        #expect(decodeBase64(end["stderr"]).count == JobScript.tailBytes)
    }

    @Test func outputsAreListedForPublishing() throws {
        let make =
            "mkdir -p /out/d/sub '/res/s 1' /res/s2 && echo a > /out/file.txt && echo b > /out/d/sub/x "
            + "&& echo c > '/res/s 1/calls.vcf' && echo d > /res/s2/calls.vcf && echo e > /res/s2/other.txt"
        let task = TESTask(
            outputs: [
                TESOutput(url: "ftp://h/f", path: "/out/file.txt"),
                TESOutput(url: "ftp://h/d", path: "/out/d", type: .directory),
                TESOutput(url: "ftp://h/v", path: "/res/*/calls.vcf", pathPrefix: "/res"),
                TESOutput(url: "ftp://h/m", path: "/out/missing.txt"),
                TESOutput(url: "ftp://h/n", path: "/res/*.none", pathPrefix: "/res"),
                TESOutput(url: "ftp://h/b", path: "/res/s[0-9]/[!o]*", pathPrefix: "/res"),
            ],
            executors: [TESExecutor(image: "x", command: ["sh", "-c", make])],
            volumes: ["/out", "/res"]
        )
        let run = try JobScriptRun.run(task: task)
        #expect(run.exitCode == 0, "\(run.stderr)")
        let text = try String(contentsOf: run.workingDirectory.appendingPathComponent(JobScript.outputsPath), encoding: .utf8)
        let lines = try text.split(separator: "\n").map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] ?? [:] }
        let found = lines.filter { $0["path"] != nil }.map { "\($0["output"]!) \(decodeBase64($0["path"]))" }
        #expect(found == ["0 /out/file.txt", "1 /out/d/sub/x", "2 /res/s 1/calls.vcf", "2 /res/s2/calls.vcf", "5 /res/s2/calls.vcf"])
        let missing = lines.filter { $0["missing"] != nil }.map { "\($0["output"]!) \(decodeBase64($0["missing"]))" }
        #expect(missing == ["3 /out/missing.txt"])
        #expect(lines.first?["size"] as? Int == 2)
    }

    @Test func globPatternsQuoteEverythingButThePatternCharacters() {
        #expect(JobScript.globPattern("/a b/*.txt") == "'/a b/'*'.txt'")
        #expect(JobScript.globPattern("/x/[!$(id)]?") == "'/x/'[!'$''('id')']?")
        #expect(JobScript.globPattern("/x/[abc") == "'/x/[abc'")
    }
}

@Suite struct JobScriptTailBudgetTests {
    @Test func tailsShrinkSoThatEveryTaskFitsOneStoreDocument() {
        #expect(JobScript.tailBytes(executors: 1) == 64 * 1024)
        #expect(JobScript.tailBytes(executors: 48) == 64 * 1024)
        #expect(JobScript.tailBytes(executors: 1000) == 3145)
        for count in [1, 10, 100, 1000, 10_000] {
            #expect(2 * count * JobScript.tailBytes(executors: count) <= max(JobScript.tailBudgetBytes, 2 * count * 1024))
        }
    }
}

/// Task paths below directories that exist on the host (cwltool stages inputs at /var/lib/cwl/stg…), and what a
/// runtime that cannot start an executor makes of the task.
@Suite struct JobScriptMountPointTests {
    @Test(arguments: ["/var/lib/cwl/stg1", "/opt/tesp-x", "/usr/local/tesp-data", "/home/tesp-user/data"])
    func pathsBelowExistingHostDirectoriesCanBeMounted(directory: String) throws {
        let task = TESTask(
            inputs: [TESInput(path: directory + "/in.txt", content: "hello\n")],
            outputs: [TESOutput(url: "ftp://h/o", path: directory + "/out/copy.txt")],
            executors: [
                TESExecutor(image: "x", command: ["sh", "-c", "mkdir -p \(directory)/out && cp \(directory)/in.txt \(directory)/out/copy.txt"],
                            workdir: directory + "/work"),
                TESExecutor(image: "x", command: ["sh", "-c", "cat \(directory)/in.txt; ls /var | grep -c . ; pwd"], workdir: "/var/lib/tesp-wd"),
            ]
        )
        let run = try JobScriptRun.run(
            task: task,
            inputs: [(JobScript.PlacedInput(uploadedName: "content-0", path: directory + "/in.txt"), "hello\n")]
        )
        #expect(run.exitCode == 0, "\(run.stderr)")
        let ends = try run.records.filter { $0["event"] as? String == "end" }
        #expect(ends.map { $0["exit_code"] as? Int } == [0, 0], "\(ends)")
        let second = decodeBase64(ends.last?["stdout"])
        #expect(second.hasPrefix("hello\n") && second.hasSuffix("/var/lib/tesp-wd\n"), "\(second)")
        // The host's other entries stay visible (read-only) next to the mount point.
        #expect(Int(second.split(separator: "\n")[1]) ?? 0 > 0)
        #expect(try run.contents(of: directory + "/out/copy.txt") == "hello\n")
    }

    @Test func aSandboxThatCannotBeSetUpIsASystemErrorNamingTheExecutor() throws {
        // A mount point bwrap cannot make (inside the sandbox's own /proc): the command never runs.
        var task = TESTask(executors: [TESExecutor(image: "x", command: ["true"])])
        task.volumes = ["/proc/tesp-cannot-exist"]
        let run = try JobScriptRun.run(task: task)
        #expect(run.exitCode != 0)
        #expect(run.stderr.contains("executor 0 could not be started by bwrap"), "\(run.stderr)")
    }

    @Test func aCommandThatDoesNotExistIsTheExecutorsErrorWithCode127() throws {
        let run = try JobScriptRun.run(task: TESTask(executors: [TESExecutor(image: "x", command: ["no-such-program-tesp"])]))
        #expect(run.exitCode == 0, "\(run.stderr)")
        let end = try #require(try run.records.first { $0["event"] as? String == "end" })
        #expect(end["exit_code"] as? Int == 127)
        #expect(try run.records.last?["event"] as? String == "stopped")
    }
}
