import Crypto
import Foundation
import HummingbirdBcrypt
import NIOConcurrencyHelpers
import NIOPosix

/// Checks HTTP Basic credentials against users with bcrypt password hashes (what `htpasswd -nbB` or
/// `tesp hash-password` print).
///
/// bcrypt is slow on purpose (tens to hundreds of milliseconds), so it runs on a thread pool, never on an event
/// loop, and a credential once proven is remembered by its SHA-256 digest: a client that sends the same header on
/// every request pays for bcrypt once. Unknown users are checked against a decoy hash, so that an answer takes as
/// long whether or not the user exists.
public final class PasswordAuthenticator: Sendable {
    private let hashes: [String: String]
    private let decoyHash: String
    private let proven: NIOLockedValueBox<Set<SHA256Digest>>
    private let threadPool: NIOThreadPool
    /// How many proven credentials are remembered before the memory is cleared.
    static let provenLimit = 4096

    /// - Parameter users: user name → bcrypt hash.
    public init(users: [String: String], threadPool: NIOThreadPool = .singleton) {
        self.hashes = users
        // The decoy costs what the users' hashes cost, so that its check takes as long.
        let cost = users.values.first.flatMap(Self.cost(of:)) ?? 10
        self.decoyHash = Bcrypt.hash(UUID().uuidString, cost: cost)
        self.proven = NIOLockedValueBox([])
        self.threadPool = threadPool
    }

    /// Reads `name:hash` entries (htpasswd lines with bcrypt hashes).
    /// - Throws: ``AuthenticationError`` naming the entry (by position and user, never the hash) that is not one.
    public static func users(fromEntries entries: [String]) throws(AuthenticationError) -> [String: String] {
        var users: [String: String] = [:]
        for (index, entry) in entries.enumerated() {
            let parts = entry.split(separator: ":", maxSplits: 1)
            guard parts.count == 2, !parts[0].isEmpty, cost(of: String(parts[1])) != nil else {
                throw AuthenticationError(.invalid, "entry \(index + 1) is not 'name:bcrypt-hash'")
            }
            let name = String(parts[0])
            guard users[name] == nil else { throw AuthenticationError(.invalid, "user '\(name)' is listed twice") }
            users[name] = String(parts[1])
        }
        return users
    }

    /// The cost of a bcrypt hash (`$2a$`, `$2b$` or `$2y$`), or `nil` if `hash` is not one.
    static func cost(of hash: String) -> UInt8? {
        let fields = hash.split(separator: "$", omittingEmptySubsequences: false)
        guard fields.count == 4, fields[0].isEmpty, ["2a", "2b", "2y"].contains(fields[1]), fields[3].count == 53,
            let cost = UInt8(fields[2]), (4...31).contains(cost)
        else { return nil }
        return cost
    }

    public func authenticate(username: String, password: String) async throws(AuthenticationError) -> Principal {
        var input = Data(username.utf8)
        input.append(0)
        input.append(contentsOf: password.utf8)
        let digest = SHA256.hash(data: input)
        if proven.withLockedValue({ $0.contains(digest) }) { return Principal(subject: username) }

        let known = hashes[username]
        let hash = known ?? decoyHash
        let matches: Bool
        do {
            matches = try await threadPool.runIfActive { Bcrypt.verify(password, hash: hash) }
        } catch {
            throw AuthenticationError(.unavailable, "the password check could not run")
        }
        guard matches, known != nil else { throw AuthenticationError(.invalid, "wrong user name or password") }
        proven.withLockedValue { proven in
            if proven.count >= Self.provenLimit { proven.removeAll() }
            proven.insert(digest)
        }
        return Principal(subject: username)
    }
}
