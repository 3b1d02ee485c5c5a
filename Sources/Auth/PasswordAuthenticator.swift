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
/// every request pays for bcrypt once. Unknown users are checked against a decoy hash of the highest cost among
/// the users, so that an unknown user's answer takes at least as long as a known one's.
///
/// Checks waiting for a thread are bounded, in all (`maxPending`, then 503) and per user name (`maxPendingPerUser`,
/// then 429): a flood of guesses is refused at once instead of queueing in front of other users' logins.
public final class PasswordAuthenticator: Sendable {
    private let hashes: [String: String]
    let decoyHash: String
    private let proven: NIOLockedValueBox<Set<SHA256Digest>>
    private let threadPool: NIOThreadPool
    private let pending: NIOLockedValueBox<Pending>
    private let maxPending: Int
    private let maxPendingPerUser: Int
    /// How many proven credentials are remembered before the memory is cleared.
    static let provenLimit = 4096

    private struct Pending {
        var total = 0
        var byUser: [String: Int] = [:]
    }

    /// - Parameters:
    ///   - users: user name → bcrypt hash.
    ///   - maxPending: password checks running or waiting at once, over all users.
    ///   - maxPendingPerUser: password checks running or waiting at once for one user name.
    public init(users: [String: String], threadPool: NIOThreadPool = .singleton, maxPending: Int = 32, maxPendingPerUser: Int = 2) {
        self.hashes = users
        // The decoy costs the most any user's hash costs: with mixed costs, a cheaper decoy would tell which
        // names exist.
        let cost = users.values.compactMap(Self.cost(of:)).max() ?? 10
        self.decoyHash = Bcrypt.hash(UUID().uuidString, cost: cost)
        self.proven = NIOLockedValueBox([])
        self.threadPool = threadPool
        self.pending = NIOLockedValueBox(Pending())
        self.maxPending = max(1, maxPending)
        self.maxPendingPerUser = max(1, maxPendingPerUser)
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

        // bcrypt reads a password up to its first NUL: "pw\0anything" would pass for "pw".
        if password.utf8.contains(0) || username.utf8.contains(0) {
            throw AuthenticationError(.invalid, "user names and passwords must not contain NUL characters")
        }
        let known = hashes[username]
        let hash = known ?? decoyHash
        try admit(username)
        defer { release(username) }
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

    /// Password checks running or waiting now (for tests).
    var pendingChecks: Int { pending.withLockedValue { $0.total } }

    private func admit(_ username: String) throws(AuthenticationError) {
        let refusal: AuthenticationError? = pending.withLockedValue { pending in
            if pending.byUser[username, default: 0] >= maxPendingPerUser {
                return AuthenticationError(.throttled, "too many password checks for this user at once; try again shortly")
            }
            if pending.total >= maxPending {
                return AuthenticationError(.unavailable, "too many password checks at once; try again shortly")
            }
            pending.total += 1
            pending.byUser[username, default: 0] += 1
            return nil
        }
        if let refusal { throw refusal }
    }

    private func release(_ username: String) {
        pending.withLockedValue { pending in
            pending.total -= 1
            let left = pending.byUser[username, default: 1] - 1
            pending.byUser[username] = left > 0 ? left : nil
        }
    }
}
