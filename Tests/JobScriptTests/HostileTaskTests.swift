import Foundation
import TES
import Testing

@testable import JobScript

/// What a task submitter must not be able to do through the job script, tried for real with bash and bubblewrap:
/// break out of the quoting, make the host-side script read or write outside the job through a planted link, or
/// reach the host's privileges and network from inside the sandbox.
@Suite struct HostileTaskTests {
    // MARK: Quoting

    /// Random strings rich in what breaks shell quoting: quotes followed by combining marks (one Swift `Character`,
    /// but a raw `'` to bash), control characters, CR/LF, emoji sequences, and random scalars of every plane.
    static func randomStrings(count: Int, seed: UInt64) -> [String] {
        var rng = SplitMix64(seed: seed)
        let specials: [Unicode.Scalar] = [
            "'", "\"", "\\", "$", "`", "!", "*", "?", "[", "]", "{", "}", "~", "#", ";", "&", "|", "<", ">", "(", ")",
            " ", "\t", "\n", "\r", "\u{1}", "\u{1B}", "\u{7F}", "\u{85}", "\u{2028}", "\u{301}", "\u{300}", "\u{20DD}",
            "\u{200D}", "\u{FEFF}", "\u{1F468}", "\u{1F3FD}", "\u{1100}", "\u{1161}", "/", ".", "-", "=", "%",
        ]
        return (0..<count).map { _ in
            var text = ""
            for _ in 0..<Int(rng.next() % 24) {
                switch rng.next() % 4 {
                case 0, 1: text.unicodeScalars.append(specials[Int(rng.next() % UInt64(specials.count))])
                case 2: text.unicodeScalars.append(Unicode.Scalar(UInt8(0x20 + rng.next() % 0x5F)))
                default:
                    // Any scalar but NUL and the surrogates, which a String cannot hold.
                    var value = UInt32(1 + rng.next() % 0x10FFFF)
                    if (0xD800...0xDFFF).contains(value) { value = 0xFFFD }
                    text.unicodeScalars.append(Unicode.Scalar(value)!)
                }
            }
            return text
        }
    }

    /// `bash -c "printf '%s\0' WORDS"`: what bash makes of each word, split at the NULs.
    static func bashPrints(_ words: [String], in directory: URL? = nil) throws -> [[UInt8]] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = ["-c", "printf '%s\\0' " + words.joined(separator: " ")]
        process.currentDirectoryURL = directory
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        return data.split(separator: 0, omittingEmptySubsequences: false).dropLast().map { Array($0) }
    }

    @Test func quotingKeepsEveryByteOfRandomUnicodeThroughRealBash() throws {
        for seed in UInt64(1)...4 {
            let strings = Self.randomStrings(count: 250, seed: seed)
            let printed = try Self.bashPrints(strings.map(ShellQuote.quote))
            #expect(printed.count == strings.count, "seed \(seed)")
            for (string, bytes) in zip(strings, printed) where bytes != Array(string.utf8) {
                Issue.record("seed \(seed): \(string.debugDescription) came back as \(String(decoding: bytes, as: UTF8.self).debugDescription)")
            }
        }
    }

    @Test func theReportedInjectionIsOneArgument() throws {
        let attack = "a'\u{301}; touch /var/tmp/x; : '\u{301}"
        #expect(try Self.bashPrints([ShellQuote.quote(attack)]) == [Array(attack.utf8)])
    }

    @Test func globPatternsNeverLetLiteralTextBecomeShellSyntax() throws {
        // In an empty directory no pattern matches, so bash prints each pattern with its quotes removed: exactly
        // the text, whatever pattern characters, quotes and combining marks it holds.
        let empty = FileManager.default.temporaryDirectory.appendingPathComponent("tesp-glob-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: empty) }
        let strings = Self.randomStrings(count: 300, seed: 99).map { "nothing-here/" + $0 }
            + ["nothing-here/['\u{301}]", "nothing-here/[!'\u{301};id]*"]
        let printed = try Self.bashPrints(strings.map(JobScript.globPattern), in: empty)
        #expect(printed.count == strings.count)
        for (string, bytes) in zip(strings, printed) where bytes != Array(string.utf8) {
            Issue.record("\(string.debugDescription) came back as \(String(decoding: bytes, as: UTF8.self).debugDescription)")
        }
    }

    // MARK: Links planted by an executor

    /// A host file outside the job, as an attacker would aim at (Pulsar's app.yml, TESP's environment).
    static func hostSecret() throws -> URL {
        let secret = FileManager.default.temporaryDirectory.appendingPathComponent("tesp-secret-\(UUID().uuidString)")
        try "SECRET-TOKEN\n".write(to: secret, atomically: true, encoding: .utf8)
        return secret
    }

    @Test func aLinkPlantedAsTheExecutorsOwnStdoutIsNotReadBack() throws {
        let secret = try Self.hostSecret()
        defer { try? FileManager.default.removeItem(at: secret) }
        let plant = TESExecutor(
            image: "x",
            command: ["sh", "-c", "rm -f /data/out /data/err; ln -s \(secret.path) /data/out; ln -s \(secret.path) /data/err"],
            stdout: "/data/out",
            stderr: "/data/err"
        )
        let run = try JobScriptRun.run(task: TESTask(executors: [plant]))
        #expect(run.exitCode == 0, "\(run.stderr)")
        let end = try #require(try run.records.first { $0["event"] as? String == "end" })
        #expect(!decodeBase64(end["stdout"]).contains("SECRET"))
        #expect(!decodeBase64(end["stderr"]).contains("SECRET"))
    }

    @Test func aLaterExecutorsRedirectThroughAPlantedLinkIsRefused() throws {
        let secret = try Self.hostSecret()
        defer { try? FileManager.default.removeItem(at: secret) }
        let plant = TESExecutor(image: "x", command: ["ln", "-s", secret.path, "/data/out"])
        let write = TESExecutor(image: "x", command: ["echo", "overwritten"], stdout: "/data/out")
        let run = try JobScriptRun.run(task: TESTask(executors: [plant, write], volumes: ["/data"]))
        #expect(run.exitCode != 0)
        #expect(run.stderr.contains("executor 1's stdout"), "\(run.stderr)")
        #expect(try String(contentsOf: secret, encoding: .utf8) == "SECRET-TOKEN\n")

        let read = TESExecutor(image: "x", command: ["cat"], stdin: "/data/out")
        let stdinRun = try JobScriptRun.run(task: TESTask(executors: [plant, read], volumes: ["/data"]))
        #expect(stdinRun.exitCode != 0)
        #expect(stdinRun.stderr.contains("executor 1's stdin"), "\(stdinRun.stderr)")
        #expect(try !stdinRun.records.contains { decodeBase64($0["stdout"]).contains("SECRET") })
    }

    @Test func aDirectoryLinkOnTheWayIsRefusedToo() throws {
        let secret = try Self.hostSecret()
        defer { try? FileManager.default.removeItem(at: secret) }
        let directory = secret.deletingLastPathComponent().path
        let plant = TESExecutor(image: "x", command: ["ln", "-s", directory, "/data/sub"])
        let write = TESExecutor(image: "x", command: ["echo", "x"], stdout: "/data/sub/\(secret.lastPathComponent)")
        let run = try JobScriptRun.run(task: TESTask(executors: [plant, write], volumes: ["/data"]))
        #expect(run.exitCode != 0 && run.stderr.contains("executor 1's stdout"), "\(run.stderr)")
        #expect(try String(contentsOf: secret, encoding: .utf8) == "SECRET-TOKEN\n")
    }

    @Test func aFIFOPlantedAsStdoutDoesNotHangTheJob() throws {
        let plant = TESExecutor(image: "x", command: ["sh", "-c", "rm -f /data/out; mkfifo /data/out"], stdout: "/data/out")
        let run = try JobScriptRun.run(task: TESTask(executors: [plant]), timeoutSeconds: 60)
        #expect(run.exitCode == 0, "exit \(run.exitCode): \(run.stderr)")
        #expect(try run.records.last?["event"] as? String == "done")
    }

    @Test func outputsThatAreLinksAreRefusedAndDirectoryOutputsSkipLinks() throws {
        let secret = try Self.hostSecret()
        defer { try? FileManager.default.removeItem(at: secret) }
        let directory = secret.deletingLastPathComponent().path
        let plant = TESExecutor(
            image: "x",
            command: [
                "sh", "-c",
                "ln -s \(secret.path) /data/file; mkdir /data/dir; echo ok > /data/dir/real; ln -s \(secret.path) /data/dir/link; "
                    + "ln -s \(directory) /data/up; echo mine > /data/plain",
            ]
        )
        let task = TESTask(
            outputs: [
                TESOutput(url: "ftp://h/a", path: "/data/file"),
                TESOutput(url: "ftp://h/b", path: "/data/dir", type: .directory),
                TESOutput(url: "ftp://h/c", path: "/data/up/\(secret.lastPathComponent)"),
                TESOutput(url: "ftp://h/d", path: "/data/*", pathPrefix: "/data"),
                TESOutput(url: "ftp://h/e", path: "/data/plain"),
            ],
            executors: [plant],
            volumes: ["/data"]
        )
        let run = try JobScriptRun.run(task: task)
        #expect(run.exitCode == 0, "\(run.stderr)")
        let lines = try String(contentsOf: run.workingDirectory.appendingPathComponent(JobScript.outputsPath), encoding: .utf8)
            .split(separator: "\n").map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] ?? [:] }
        func entries(_ output: Int) -> [(kind: String, path: String)] {
            lines.filter { $0["output"] as? Int == output }.map { line in
                let kind = ["path", "missing", "refused"].first { line[$0] != nil } ?? "?"
                return (kind, decodeBase64(line[kind]))
            }
        }
        #expect(entries(0).map(\.kind) == ["refused"])
        #expect(entries(1).map(\.path) == ["/data/dir/real"])
        #expect(entries(2).map(\.kind) == ["refused"])
        // The wildcard matched the links too; each is refused, the real files are listed.
        let wildcard = entries(3)
        #expect(wildcard.filter { $0.kind == "path" }.map(\.path) == ["/data/dir/real", "/data/plain"])
        #expect(Set(wildcard.filter { $0.kind == "refused" }.map(\.path)) == ["/data/file", "/data/up"])
        #expect(entries(4).map(\.kind) == ["path"])
    }

    // MARK: The sandbox

    @Test func theSandboxHasNoCapabilitiesAndCannotWriteTheHost() throws {
        let probe = TESExecutor(
            image: "x",
            command: [
                "sh", "-c",
                "grep -E '^Cap(Eff|Prm|Amb):' /proc/self/status; id -u; "
                    + "mount -o remount,rw,bind /var 2>/dev/null && echo REMOUNTED; touch /var/tesp-escape 2>/dev/null && echo WROTE; true",
            ],
            stdout: "/out/probe"
        )
        let run = try JobScriptRun.run(task: TESTask(executors: [probe]))
        #expect(run.exitCode == 0, "\(run.stderr)")
        let text = try run.contents(of: "/out/probe")
        for line in text.split(separator: "\n") where line.hasPrefix("Cap") {
            #expect(line.hasSuffix("0000000000000000"), "\(line)")
        }
        #expect(!text.contains("REMOUNTED") && !text.contains("WROTE"))
        #expect(!FileManager.default.fileExists(atPath: "/var/tesp-escape"))
        if getuid() == 0 {
            // Run as root, the script drops the executor to the sandbox user (nobody).
            #expect(text.contains("\n65534\n") || text.hasPrefix("65534\n"), "\(text)")
        }
    }

    @Test func asRootTheExecutorCannotReadRootOnlyFiles() throws {
        guard getuid() == 0 else { return }  // the drop to the sandbox user happens only for root
        let secret = try Self.hostSecret()
        defer { try? FileManager.default.removeItem(at: secret) }
        // Put it where the sandbox sees the host (/tmp is a tmpfs of its own there), readable by root only.
        let visible = URL(fileURLWithPath: "/var/tmp/tesp-secret-\(UUID().uuidString)")
        try FileManager.default.copyItem(at: secret, to: visible)
        defer { try? FileManager.default.removeItem(at: visible) }
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: visible.path)
        let read = TESExecutor(image: "x", command: ["cat", visible.path], stdout: "/out/read", stderr: "/out/err")
        let run = try JobScriptRun.run(task: TESTask(executors: [read]))
        #expect(run.exitCode == 0, "\(run.stderr)")
        #expect(try !run.contents(of: "/out/read").contains("SECRET"))
        #expect(try run.contents(of: "/out/err").contains("Permission denied"))
    }

    @Test func theSandboxCannotReachLoopbackServicesUnlessTheNetworkIsAllowed() throws {
        let listener = try LoopbackListener()
        defer { listener.close() }
        let connect = TESExecutor(
            image: "x",
            command: ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/\(listener.port) && echo CONNECTED || echo REFUSED"],
            stdout: "/out/net"
        )
        let closed = try JobScriptRun.run(task: TESTask(executors: [connect]))
        #expect(try closed.contents(of: "/out/net") == "REFUSED\n", "\(closed.stderr)")
        let open = try JobScriptRun.run(task: TESTask(executors: [connect]), runtime: ContainerRuntime(kind: .bwrap, network: true))
        #expect(try open.contents(of: "/out/net") == "CONNECTED\n", "\(open.stderr)")
    }
}

/// A TCP socket listening on 127.0.0.1 (an ephemeral port): a stand-in for MongoDB or Pulsar on the host.
struct LoopbackListener {
    let descriptor: Int32
    let port: UInt16

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 16) == 0 else { throw POSIXError(.EADDRINUSE) }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        descriptor = fd
        port = UInt16(bigEndian: address.sin_port)
    }

    func close() { _ = Glibc.close(descriptor) }
}

/// A small seeded generator, so that a failing random case can be run again.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
