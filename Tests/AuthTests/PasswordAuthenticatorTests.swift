import Dispatch
import HummingbirdBcrypt
import NIOPosix
import Testing

@testable import Auth

@Suite struct PasswordAuthenticatorTests {
    // Cost 4: the cheapest bcrypt, so that the tests are quick; the check is the same at any cost.
    static let aliceHash = Bcrypt.hash("s3cret: with spaces", cost: 4)
    static let bobHash = Bcrypt.hash("hunter2", cost: 4)

    func authenticator() throws -> PasswordAuthenticator {
        PasswordAuthenticator(users: try PasswordAuthenticator.users(fromEntries: ["alice:\(Self.aliceHash)", "bob:\(Self.bobHash)"]))
    }

    @Test func theRightPasswordNamesTheUser() async throws {
        let users = try authenticator()
        #expect(try await users.authenticate(username: "alice", password: "s3cret: with spaces") == Principal(subject: "alice"))
        #expect(try await users.authenticate(username: "bob", password: "hunter2") == Principal(subject: "bob"))
    }

    @Test func aWrongPasswordAnotherUsersPasswordAndAnUnknownUserAreRefusedAlike() async throws {
        let users = try authenticator()
        for (user, password) in [("alice", "s3cret"), ("alice", "hunter2"), ("mallory", "hunter2"), ("", "")] {
            await #expect(throws: AuthenticationError(.invalid, "wrong user name or password")) {
                try await users.authenticate(username: user, password: password)
            }
        }
    }

    @Test func aProvenPasswordIsRememberedButAWrongOneNeverIs() async throws {
        let threads = NIOThreadPool(numberOfThreads: 1)
        threads.start()
        let users = PasswordAuthenticator(users: ["bob": Self.bobHash], threadPool: threads)
        _ = try await users.authenticate(username: "bob", password: "hunter2")
        // With its bcrypt threads gone, the authenticator can only answer from what it remembers.
        try await threads.shutdownGracefully()
        #expect(try await users.authenticate(username: "bob", password: "hunter2") == Principal(subject: "bob"))
        await #expect(throws: AuthenticationError(.unavailable, "the password check could not run")) {
            try await users.authenticate(username: "bob", password: "hunter3")
        }
    }

    @Test func entriesMustBeNamesWithBcryptHashes() throws {
        #expect(try PasswordAuthenticator.users(fromEntries: ["a:\(Self.aliceHash)"]) == ["a": Self.aliceHash])
        for bad in ["alice", ":\(Self.aliceHash)", "alice:plaintext", "alice:$1$abc$def", "alice:$2b$99$" + String(repeating: "a", count: 53)] {
            #expect(throws: AuthenticationError.self) { try PasswordAuthenticator.users(fromEntries: [bad]) }
        }
        #expect(throws: AuthenticationError.self) {
            try PasswordAuthenticator.users(fromEntries: ["a:\(Self.aliceHash)", "a:\(Self.bobHash)"])
        }
    }

    @Test func anErrorNeverHoldsTheHash() {
        do {
            _ = try PasswordAuthenticator.users(fromEntries: ["ok:\(Self.aliceHash)", "broken:$2b$12$short"])
            Issue.record("accepted a broken entry")
        } catch {
            #expect(error.reason == "entry 2 is not 'name:bcrypt-hash'")
        }
    }

    @Test func theDecoyCostsAsMuchAsTheDearestUser() {
        let users = PasswordAuthenticator(users: ["cheap": Self.bobHash, "dear": Bcrypt.hash("x", cost: 6)])
        #expect(PasswordAuthenticator.cost(of: users.decoyHash) == 6)
    }

    @Test func aNULInThePasswordIsRefusedNotTruncated() async throws {
        let users = try authenticator()
        await #expect(throws: AuthenticationError.self) { try await users.authenticate(username: "bob", password: "hunter2\0anything") }
        await #expect(throws: AuthenticationError.self) { try await users.authenticate(username: "bob\0", password: "hunter2") }
    }

    @Test func guessesForOneUserAreThrottledAndDoNotQueueInFrontOfOthers() async throws {
        let threads = NIOThreadPool(numberOfThreads: 1)
        threads.start()
        // Hold the only bcrypt thread, so that checks stay pending.
        let gate = DispatchSemaphore(value: 0)
        threads.submit { _ in gate.wait() }
        let users = PasswordAuthenticator(
            users: ["alice": Self.aliceHash, "bob": Self.bobHash],
            threadPool: threads,
            maxPending: 3,
            maxPendingPerUser: 2
        )
        let guesses = (0..<2).map { n in
            Task { try? await users.authenticate(username: "bob", password: "guess \(n)") }
        }
        while users.pendingChecks < 2 { try await Task.sleep(for: .milliseconds(5)) }
        await #expect(throws: AuthenticationError(.throttled, "too many password checks for this user at once; try again shortly")) {
            try await users.authenticate(username: "bob", password: "guess 3")
        }
        // Another user still gets a place; past maxPending everyone is told to come back (503), at once.
        let alice = Task { try await users.authenticate(username: "alice", password: "s3cret: with spaces") }
        while users.pendingChecks < 3 { try await Task.sleep(for: .milliseconds(5)) }
        await #expect(throws: AuthenticationError(.unavailable, "too many password checks at once; try again shortly")) {
            try await users.authenticate(username: "carol", password: "x")
        }
        gate.signal()
        for guess in guesses { _ = await guess.value }
        #expect(try await alice.value == Principal(subject: "alice"))
        #expect(users.pendingChecks == 0)
        try await threads.shutdownGracefully()
    }
}
