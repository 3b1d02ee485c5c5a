import ArgumentParser
import Foundation
import HummingbirdBcrypt

/// `tesp hash-password`: prints a `name:bcrypt-hash` entry for `auth.basic.users`, reading the password from
/// standard input so that it appears in no command line or shell history.
struct HashPasswordCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hash-password",
        abstract: "Print an auth.basic.users entry (name:bcrypt-hash) for a password read from standard input."
    )

    @Option(help: "The user name.")
    var user: String

    @Option(help: "bcrypt cost (each step doubles the time a check takes).")
    var cost: UInt8 = 12

    func validate() throws {
        guard !user.isEmpty, !user.contains(":"), !user.contains(",") else {
            throw ValidationError("--user must be non-empty without ':' or ','")
        }
        guard (4...31).contains(cost) else { throw ValidationError("--cost must be from 4 to 31") }
    }

    func run() throws {
        guard let line = readLine(strippingNewline: true), !line.isEmpty else {
            throw ValidationError("no password on standard input")
        }
        print("\(user):\(Bcrypt.hash(line, cost: cost))")
    }
}
