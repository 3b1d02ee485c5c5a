import Foundation
import TES

/// The README's md5sum task, as a client sends it.
let md5sumTaskJSON = """
    {
      "name": "md5sum example",
      "description": "checksum of a file from FTP",
      "inputs": [{"url": "ftp://ftp.example.org/holy_file", "path": "/data/file1", "type": "FILE"}],
      "outputs": [{"url": "ftp://ftp.example.org/outfile-1", "path": "/data/outfile", "type": "FILE"}],
      "resources": {"cpu_cores": 1, "ram_gb": 1.5, "disk_gb": 10, "preemptible": false, "zones": ["a"]},
      "executors": [{
        "image": "ubuntu:24.04", "command": ["md5sum"], "workdir": "/data/",
        "stdin": "/data/file1", "stdout": "/data/outfile", "env": {"LC_ALL": "C"}, "ignore_error": false
      }],
      "volumes": ["/vol/A/"],
      "tags": {"WORKFLOW_ID": "cwl-01234", "PROJECT_GROUP": "alice-lab"}
    }
    """

func decodeTask(_ json: String) throws -> TESTask {
    try TESJSON.makeDecoder().decode(TESTask.self, from: Data(json.utf8))
}

func minimalTask(_ executor: TESExecutor = TESExecutor(image: "alpine", command: ["true"])) -> TESTask {
    TESTask(executors: [executor])
}

/// The problems' field paths of a task that fails validation (empty if it passes).
func problemFields(_ task: TESTask, limits: TESValidationLimits = .init()) -> [String] {
    do {
        _ = try task.validatedForCreation(limits: limits)
        return []
    } catch {
        return error.problems.map(\.field)
    }
}
