import ArgumentParser
import Client
import Foundation
import TES

/// `tesp task …`: create, inspect, list, cancel and wait for tasks on a TES server.
struct TaskCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "task",
        abstract: "Create, get, list, cancel and wait for tasks.",
        subcommands: [Create.self, Get.self, List.self, Cancel.self, Wait.self]
    )

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Submit a task from a JSON file ('-': standard input).")

        @OptionGroup var options: ClientOptions
        @Argument(help: "The task's JSON (TES 1.1 tesTask), or '-' for standard input.") var file: String

        func run() async throws {
            let json: Data
            do {
                json = file == "-" ? FileHandle.standardInput.readDataToEndOfFile() : try Data(contentsOf: URL(fileURLWithPath: file))
            } catch {
                throw ClientFailure(message: "cannot read \(file): \(error.localizedDescription)")
            }
            let id = try await options.withClient { try await $0.create(json: json) }
            if options.json { try printJSON(TESCreateTaskResponse(id: id)) } else { print(id) }
        }
    }

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one task.")

        @OptionGroup var options: ClientOptions
        @Option(help: "MINIMAL, BASIC or FULL.") var view: TESView = .basic
        @Argument(help: "The task's id.") var id: String

        func run() async throws {
            let task = try await options.withClient { try await $0.get(id: id, view: view) }
            if options.json { return try printJSON(task) }
            say("id:       \(task.id ?? "")")
            say("state:    \(task.state?.rawValue ?? "")")
            if let name = task.name { say("name:     \(name)") }
            if let created = task.creationTime { say("created:  \(TESTime.format(created))") }
            for log in task.logs ?? [] {
                for (index, executor) in log.logs.enumerated() {
                    say("executor \(index): exit code \(executor.exitCode)" + (executor.endTime.map { ", ended \(TESTime.format($0))" } ?? ""))
                    if let stdout = executor.stdout, !stdout.isEmpty { say("  stdout: " + stdout.trimmingCharacters(in: .newlines)) }
                    if let stderr = executor.stderr, !stderr.isEmpty { say("  stderr: " + stderr.trimmingCharacters(in: .newlines)) }
                }
                for output in log.outputs { say("output:   \(output.path) → \(output.url) (\(output.sizeBytes) bytes)") }
                for line in log.systemLogs ?? [] { say("system:   \(line)") }
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List tasks, newest first.")

        @OptionGroup var options: ClientOptions
        @Option(help: "Only tasks in this state.") var state: TESState?
        @Option(help: "Only tasks whose name starts with this.") var namePrefix: String?
        @Option(help: "Only tasks with this tag: key=value, or key for any value (repeatable).") var tag: [String] = []
        @Option(help: "Tasks per page.") var pageSize: Int?
        @Flag(help: "Follow the page tokens to the last page.") var all = false

        func run() async throws {
            let tags = tag.map { entry -> (String, String) in
                let parts = entry.split(separator: "=", maxSplits: 1)
                return (String(parts[0]), parts.count > 1 ? String(parts[1]) : "")
            }
            let tasks = try await options.withClient { client in
                var tasks: [TESTask] = []
                var token: String?
                repeat {
                    let page = try await client.list(
                        namePrefix: namePrefix,
                        state: state,
                        tags: tags,
                        view: .basic,
                        pageSize: pageSize,
                        pageToken: token
                    )
                    tasks += page.tasks
                    token = page.nextPageToken
                } while all && token != nil
                return tasks
            }
            if options.json { return try printJSON(TESListTasksResponse(tasks: tasks, nextPageToken: nil)) }
            printTable(
                ["ID", "STATE", "CREATED", "NAME"],
                tasks.map { [$0.id ?? "", $0.state?.rawValue ?? "", $0.creationTime.map(TESTime.format) ?? "", $0.name ?? ""] }
            )
        }
    }

    struct Cancel: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Cancel tasks.")

        @OptionGroup var options: ClientOptions
        @Argument(help: "The tasks' ids.") var ids: [String]

        func run() async throws {
            try await options.withClient { client in
                for id in ids { try await client.cancel(id: id) }
            }
        }
    }

    struct Wait: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Wait until tasks end; exits 0 only if every one is COMPLETE."
        )

        @OptionGroup var options: ClientOptions
        @Option(help: "Give up after this many seconds (exit code 2).") var timeout: Double?
        @Argument(help: "The tasks' ids.") var ids: [String]

        func run() async throws {
            let deadline = timeout.map { ContinuousClock.now + .milliseconds(Int64($0 * 1000)) }
            let final = try await options.withClient { client -> [String: TESState] in
                var states: [String: TESState] = [:]
                var interval = Duration.milliseconds(200)
                while true {
                    for id in ids where !(states[id]?.isTerminal ?? false) {
                        let state = try await client.get(id: id).state ?? .unknown
                        if states[id] != state {
                            FileHandle.standardError.write(Data("\(id) \(state.rawValue)\n".utf8))
                            states[id] = state
                        }
                    }
                    if states.values.allSatisfy(\.isTerminal) && states.count == ids.count { return states }
                    if let deadline, ContinuousClock.now > deadline {
                        throw ExitCode(2)
                    }
                    try await Task.sleep(for: interval)
                    interval = min(interval * 1.5, .seconds(2))
                }
            }
            if options.json {
                try printJSON(ids.map { TESTask(id: $0, state: final[$0]) })
            } else {
                printTable(["ID", "STATE"], ids.map { [$0, final[$0]?.rawValue ?? ""] })
            }
            if !final.values.allSatisfy({ $0 == .complete }) { throw ExitCode(1) }
        }
    }
}

struct ServiceInfoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "service-info", abstract: "Show what the server says about itself.")

    @OptionGroup var options: ClientOptions

    func run() async throws {
        let info = try await options.withClient { try await $0.serviceInfo() }
        if options.json { return try printJSON(info) }
        say("\(info.name) \(info.version) (\(info.id)), TES \(info.type.version)")
        if let description = info.description { say(description) }
        say("organization: \(info.organization.name) <\(info.organization.url)>")
        if !info.storage.isEmpty { say("storage: " + info.storage.joined(separator: ", ")) }
        if !info.backendParameters.isEmpty { say("backend parameters: " + info.backendParameters.joined(separator: ", ")) }
    }
}

extension TESView: ExpressibleByArgument {}
extension TESState: ExpressibleByArgument {}
