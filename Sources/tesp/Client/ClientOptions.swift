import ArgumentParser
import AsyncHTTPClient
import Client
import Foundation
import Server
import TES

/// Options every client command shares: where the server is, how to authenticate, and the output format.
struct ClientOptions: ParsableArguments {
    @Option(help: "The TES server's URL (default: $TESP_SERVER, else http://127.0.0.1:8000).")
    var server: String?

    @Option(help: "A bearer token (default: $TESP_TOKEN).")
    var token: String?

    @Option(help: "A user for HTTP Basic authentication (default: $TESP_USER; password from $TESP_PASSWORD).")
    var user: String?

    @Flag(help: "Print JSON instead of tables, for scripts.")
    var json = false

    /// Runs `body` with a client, and shuts the client's HTTP connections down afterwards.
    func withClient<T>(_ body: (TESClient) async throws -> T) async throws -> T {
        let environment = ProcessInfo.processInfo.environment
        let configuration = TESClient.Configuration(
            server: server ?? environment["TESP_SERVER"] ?? "http://127.0.0.1:8000",
            token: token ?? environment["TESP_TOKEN"],
            user: user ?? environment["TESP_USER"],
            password: environment["TESP_PASSWORD"]
        )
        let http = HTTPClient(eventLoopGroupProvider: .singleton)
        do {
            let result = try await body(TESClient(configuration, http: http))
            try await http.shutdown()
            return result
        } catch {
            try? await http.shutdown()
            if let error = error as? TESClientError { throw ClientFailure(message: "\(error)") }
            throw error
        }
    }
}

/// An error message for the user (ArgumentParser prints it after "Error:"), and a non-zero exit.
struct ClientFailure: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}

/// Prints rows as aligned columns.
func printTable(_ header: [String], _ rows: [[String]]) {
    // One line per row, whatever a cell holds: no newline and no terminal escape from a task's name.
    let rows = rows.map { $0.map { LogText.sanitized($0, maxBytes: 200) } }
    let widths = header.indices.map { column in
        ([header] + rows).map { $0[column].count }.max() ?? 0
    }
    for row in [header] + rows {
        let cells = row.enumerated().map { index, cell in
            index == row.count - 1 ? cell : cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
        }
        print(cells.joined(separator: "  "))
    }
}

/// A line for a person's terminal: control characters of the server's answer are shown, not obeyed.
func say(_ line: String) {
    print(LogText.terminalSafe(line))
}

/// A value as indented JSON on standard output.
func printJSON(_ value: some Encodable) throws {
    let encoder = TESJSONPrinter.encoder
    print(String(decoding: try encoder.encode(value), as: UTF8.self))
}

enum TESJSONPrinter {
    static var encoder: JSONEncoder {
        let encoder = TESJSON.makeEncoder()
        encoder.outputFormatting.insert(.prettyPrinted)
        encoder.outputFormatting.insert(.sortedKeys)
        return encoder
    }
}
