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
}
