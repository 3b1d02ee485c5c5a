import Foundation
@testable import JobScript
import TES
import Testing

@Suite struct ContainerRuntimeTests {
    static let task = TESTask(
        inputs: [TESInput(path: "/data/in.txt", content: "x")],
        outputs: [TESOutput(url: "ftp://h/o", path: "/out/result.txt")],
        resources: TESResources(cpuCores: 2, ramGb: 1.5),
        executors: [
            TESExecutor(image: "ubuntu:24.04", command: ["md5sum", "a b"], workdir: "/data", env: ["B": "2", "A": "x y"])
        ]
    )

    func commandLine(_ kind: ContainerRuntime.Kind, executable: String? = nil) -> String {
        ContainerRuntime(kind: kind, executable: executable).command(
            for: Self.task.executors![0],
            index: 0,
            taskID: "t1",
            layout: TaskLayout(task: Self.task),
            resources: Self.task.resources
        ).map(\.rendered).joined(separator: " ")
    }

    @Test func docker() {
        // One word per option, `--` before the image: nothing from the task can become a docker option.
        #expect(
            commandLine(.docker)
                == "'docker' 'run' '--rm' '-i' '--name=tesp-t1-0' '--network=none' '--cpus=2' '--memory=1610612736' "
                + "'--volume='\"${TESP_ROOT}\"'/data:/data' '--volume='\"${TESP_ROOT}\"'/out:/out' '--workdir=/data' "
                + "'--env=A=x y' '--env=B=2' '--entrypoint=''md5sum' '--' 'ubuntu:24.04' 'a b'"
        )
    }

    @Test func theNetworkSettingOpensTheRuntimesDefaultNetwork() {
        let open = ContainerRuntime(kind: .docker, network: true).command(
            for: Self.task.executors![0], index: 0, taskID: "t1", layout: TaskLayout(task: Self.task), resources: nil
        ).map(\.rendered)
        #expect(!open.contains("'--network=none'"))
        let bwrap = ContainerRuntime(kind: .bwrap, network: true).command(
            for: Self.task.executors![0], index: 0, taskID: "t1", layout: TaskLayout(task: Self.task), resources: nil
        ).map(\.rendered)
        #expect(!bwrap.contains("'--unshare-net'") && bwrap.contains("'--unshare-user'"))
        #expect(commandLine(.bwrap).contains("'--unshare-net'"))
    }

    @Test func podmanTakesDockersArgumentsAndItsOwnExecutable() {
        #expect(
            commandLine(.podman, executable: "/usr/bin/podman")
                == commandLine(.docker).replacingOccurrences(of: "'docker'", with: "'/usr/bin/podman'")
        )
    }

    @Test func singularityAndApptainerUseDockerImages() {
        let expected =
            "'singularity' 'exec' '--containall' '--no-home' '--net' '--network=none' "
            + "'--bind' \"${TESP_ROOT}\"'/data:/data' '--bind' \"${TESP_ROOT}\"'/out:/out' '--pwd' '/data' "
            + "'--env' 'A=x y' '--env' 'B=2' '--' 'docker://ubuntu:24.04' 'md5sum' 'a b'"
        #expect(commandLine(.singularity) == expected)
        #expect(commandLine(.apptainer) == expected.replacingOccurrences(of: "'singularity'", with: "'apptainer'"))
    }

    @Test func bwrapIsolatesAndBindsTheTaskPathsOnTheHostFilesystem() {
        #expect(
            commandLine(.bwrap)
                == "\"${TESP_DROP[@]}\" 'bwrap' '--unshare-user' '--unshare-ipc' '--unshare-uts' '--unshare-pid' "
                + "'--unshare-net' '--new-session' '--die-with-parent' '--cap-drop' 'ALL' '--json-status-fd' '3' "
                + "'--tmpfs' '/' \"${TESP_BWRAP_ROOT[@]}\" '--dev' '/dev' '--proc' '/proc' '--tmpfs' '/tmp' "
                + "'--bind' \"${TESP_ROOT}\"'/data' '/data' '--bind' \"${TESP_ROOT}\"'/out' '/out' '--chdir' '/data' "
                + "'--clearenv' '--setenv' 'PATH' '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' "
                + "'--setenv' 'A' 'x y' '--setenv' 'B' '2' '--' 'md5sum' 'a b'"
        )
    }

    @Test func aRelativeSifNameIsAnImageNotAFile() {
        #expect(ContainerRuntime.singularityImage("tool.sif") == "docker://tool.sif")
        #expect(ContainerRuntime.singularityImage("/images/tool.sif") == "/images/tool.sif")
    }

    @Test func imageSchemesAreKeptForSingularity() {
        let task = TESTask(executors: [TESExecutor(image: "library://alpine", command: ["true"])])
        let words = ContainerRuntime(kind: .apptainer).command(
            for: task.executors![0],
            index: 0,
            taskID: "t",
            layout: TaskLayout(task: task),
            resources: nil
        )
        #expect(words.map(\.rendered).contains("'library://alpine'"))
    }

    @Test func shellQuotingKeepsEveryByte() {
        #expect(ShellQuote.quote("it's") == #"'it'\''s'"#)
        #expect(ShellQuote.quote("") == "''")
        #expect(ShellQuote.join(["$HOME", "a;b"]) == "'$HOME' 'a;b'")
    }
}

@Suite struct TaskLayoutTests {
    @Test func mountsAreTheOutermostDirectories() {
        let task = TESTask(
            inputs: [
                TESInput(path: "/data/in/a.txt", content: "x"), TESInput(url: "ftp://h/d", path: "/ref", type: .directory),
            ],
            outputs: [
                TESOutput(url: "u", path: "/data/out/b.txt"), TESOutput(url: "u", path: "/results/*.vcf", pathPrefix: "/results"),
            ],
            executors: [TESExecutor(image: "i", command: ["c"], stdout: "/logs/out.txt")],
            volumes: ["/data"]
        )
        #expect(TaskLayout(task: task).mounts.map(\.containerPath) == ["/data", "/logs", "/ref", "/results"])
    }

    @Test func filesInTheRootAreMountedOnTheirOwn() {
        let task = TESTask(
            inputs: [TESInput(path: "/input.txt", content: "x")],
            executors: [TESExecutor(image: "i", command: ["c"], stdout: "/stdout.txt")]
        )
        let layout = TaskLayout(task: task)
        #expect(layout.mounts == [.init(containerPath: "/input.txt", isFile: true), .init(containerPath: "/stdout.txt", isFile: true)])
        #expect(layout.isMounted("/input.txt") && !layout.isMounted("/etc/passwd"))
    }
}

@Suite struct JobRecordsTests {
    @Test func recordsBecomeExecutorLogs() {
        let text = """
            {"event":"start","executor":0,"time":1700000000000}
            {"event":"end","executor":0,"time":1700000001500,"exit_code":0,"stdout":"aGkK","stderr":""}
            {"event":"start","executor":1,"time":1700000002000}
            {"event":"end","executor":1,"time":1700000003000,"exit_code":4,"stdout":"","stderr":"b29wcwo="}
            {"event":"stopped"}
            {"event":"start","executor":2,"ti
            """
        let records = JobRecords(parsing: Data(text.utf8))
        #expect(records.finished && records.stoppedOnFailure)
        #expect(records.executorLogs.count == 2)
        #expect(records.executorLogs[0].stdout == "hi\n" && records.executorLogs[0].exitCode == 0)
        #expect(records.executorLogs[0].startTime == Date(timeIntervalSince1970: 1_700_000_000))
        #expect(records.executorLogs[0].endTime == Date(timeIntervalSince1970: 1_700_000_001.5))
        #expect(records.executorLogs[1].stderr == "oops\n" && records.executorLogs[1].exitCode == 4)
    }

    @Test func anExecutorThatNeverEndedHasExitCodeMinusOne() {
        let records = JobRecords(parsing: Data(#"{"event":"start","executor":0,"time":5}"#.utf8))
        #expect(!records.finished)
        #expect(records.executorLogs == [TESExecutorLog(startTime: Date(timeIntervalSince1970: 0.005), exitCode: -1)])
    }
}
