import Foundation
import TES
import Testing

@Suite struct TESTaskCodingTests {
    @Test func decodesEveryFieldOfASpecTask() throws {
        let task = try decodeTask(md5sumTaskJSON)
        #expect(task.name == "md5sum example")
        #expect(task.inputs?.first?.url == "ftp://ftp.example.org/holy_file")
        #expect(task.inputs?.first?.type == .file)
        #expect(task.outputs?.first?.path == "/data/outfile")
        #expect(task.resources?.cpuCores == 1)
        #expect(task.resources?.ramGb == 1.5)
        #expect(task.executors?.first?.stdin == "/data/file1")
        #expect(task.executors?.first?.env == ["LC_ALL": "C"])
        #expect(task.executors?.first?.ignoreError == false)
        #expect(task.tags?["PROJECT_GROUP"] == "alice-lab")
        #expect(task.volumes == ["/vol/A/"])
    }

    @Test func encodesOnlySpecFieldNamesAndOmitsAbsentOptionals() throws {
        var task = try decodeTask(md5sumTaskJSON)
        task.id = "x"
        task.state = .complete
        task.creationTime = Date(timeIntervalSince1970: 1_700_000_000.5)
        task.logs = [
            TESTaskLog(
                logs: [TESExecutorLog(exitCode: 0)],
                outputs: [TESOutputFileLog(url: "u", path: "/p", sizeBytes: "3")]
            )
        ]
        let data = try TESJSON.makeEncoder().encode(task)
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(
            Set(object.keys) == [
                "id", "state", "name", "description", "inputs", "outputs", "resources", "executors", "volumes", "tags",
                "logs", "creation_time",
            ]
        )
        #expect(object["creation_time"] as? String == "2023-11-14T22:13:20.500Z")
        let log = try #require((object["logs"] as? [[String: Any]])?.first)
        #expect(Set(log.keys) == ["logs", "outputs"])
        let executorLog = try #require((log["logs"] as? [[String: Any]])?.first)
        #expect(Set(executorLog.keys) == ["exit_code"])
        let output = try #require((log["outputs"] as? [[String: Any]])?.first)
        #expect(output["size_bytes"] as? String == "3")
        let text = String(decoding: data, as: UTF8.self)
        #expect(!text.contains("null"))
    }

    @Test func roundTripsThroughTheAPICoders() throws {
        var task = try decodeTask(md5sumTaskJSON)
        task.creationTime = Date(timeIntervalSince1970: 1_700_000_000.25)
        let again = try TESJSON.makeDecoder().decode(TESTask.self, from: TESJSON.makeEncoder().encode(task))
        #expect(again == task)
    }

    @Test func tagsCanBeCodedAsKeyValuePairsForStores() throws {
        let task = TESTask(tags: ["a.b": "1", "$x": "2"])
        let encoder = JSONEncoder()
        encoder.userInfo[.tesTagsAsKeyValueList] = true
        let data = try encoder.encode(task)
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let pairs = try #require(object["tags"] as? [[String: String]])
        #expect(pairs == [["key": "$x", "value": "2"], ["key": "a.b", "value": "1"]])
        let decoder = JSONDecoder()
        decoder.userInfo[.tesTagsAsKeyValueList] = true
        #expect(try decoder.decode(TESTask.self, from: data).tags == task.tags)
    }

    @Test func unreadableClientTimesDoNotRejectATask() throws {
        let task = try decodeTask(#"{"creation_time": "yesterday", "executors": [{"image": "a", "command": ["b"]}]}"#)
        #expect(task.creationTime == .distantPast)
    }

    @Test func rfc3339TimesParseWithAndWithoutFractionsAndOffsets() {
        #expect(TESTime.parse("2020-10-02T10:00:00-05:00") == Date(timeIntervalSince1970: 1_601_650_800))
        #expect(TESTime.parse("2020-10-02T15:00:00.250Z") == Date(timeIntervalSince1970: 1_601_650_800.25))
        #expect(TESTime.parse("not a time") == nil)
    }

    @Test func decodingErrorsNameTheField() throws {
        func problem(_ json: String) -> String {
            do {
                _ = try decodeTask(json)
                return "decoded"
            } catch let error as DecodingError {
                return TESValidationError(decoding: error).description
            } catch {
                return "\(error)"
            }
        }
        #expect(problem(#"{"executors": [{"image": "a", "command": "ls"}]}"#) == "executors[0].command: expected an array")
        #expect(problem(#"{"executors": [{"image": "a", "command": [1]}]}"#) == "executors[0].command[0]: expected a string")
        #expect(problem(#"{"resources": {"cpu_cores": "two"}}"#) == "resources.cpu_cores: expected an integer")
        #expect(problem(#"{"inputs": [{"path": "/a", "type": "FOLDER"}]}"#) == "inputs[0].type: has an invalid value")
        #expect(problem(#"{"executors": [{"image": "a", "command": ["b"]}]"#) == "request body: is not valid JSON")
        #expect(problem(#"{"logs": [{"logs": [{"stdout": "x"}]}]}"#) == "logs[0].logs[0].exit_code: required, but missing")
    }
}
