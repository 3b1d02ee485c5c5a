import ArgumentParser

/// The `tesp` command: the server (`tesp serve`).
@main
struct TESP: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tesp",
        abstract: "GA4GH Task Execution Service (TES 1.1) running tasks on Galaxy Pulsar.",
        version: TESPVersion.current,
        subcommands: [ServeCommand.self, TaskCommand.self, ServiceInfoCommand.self, HashPasswordCommand.self],
        defaultSubcommand: ServeCommand.self
    )
}

/// The version this binary reports (`tesp --version`, service-info).
enum TESPVersion {
    static let current = "0.1.0"
}
