// A libFuzzer target over the pure TES code: what a client's bytes reach before anything is stored.
// Built with the TES sources into one module by scripts/fuzz; a trap or a broken invariant is a finding.
import Foundation

private let limits = TESValidationLimits(
    maxExecutors: 50,
    supportedBackendParameters: ["VmSize"],
    readableURLSchemes: ["ftp", "ftps", "http", "https", "file", "s3", "drs"],
    writableURLSchemes: ["ftp", "ftps", "http", "https", "file", "s3"],
    allowedFileDirectories: ["/srv/data"]
)

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ bytes: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let data = Data(bytes: bytes, count: count)
    checkTask(data)
    let text = String(decoding: data, as: UTF8.self)
    checkListQuery(text)
    checkQuoting(text)
    return 0
}

/// Decoding never traps; a task that passes validation has only safe paths and survives a JSON round trip.
private func checkTask(_ data: Data) {
    guard let task = try? TESJSON.makeDecoder().decode(TESTask.self, from: data) else { return }
    guard let validated = try? task.validatedForCreation(limits: limits).task else { return }
    var paths: [String] = []
    paths += (validated.inputs ?? []).compactMap(\.path)
    paths += (validated.outputs ?? []).compactMap(\.path)
    paths += validated.volumes ?? []
    for executor in validated.executors ?? [] {
        // An empty workdir/stdin/stdout/stderr means "not set", for clients that send "" for unset fields.
        paths += [executor.workdir, executor.stdin, executor.stdout, executor.stderr].compactMap { $0 }.filter { !$0.isEmpty }
    }
    // Byte-level, as the kernel and bash read paths (a combining mark must not hide a '/' or a '.').
    for path in paths {
        check(path.utf8.first == UInt8(ascii: "/"), "accepted a relative path: \(path)")
        let segments = path.utf8.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false).dropFirst()
        check(
            !segments.contains { $0.elementsEqual("..".utf8) || $0.elementsEqual(".".utf8) },
            "accepted a path with a '.' or '..' segment: \(path.debugDescription)"
        )
    }
    for executor in validated.executors ?? [] {
        check(executor.image?.utf8.first != UInt8(ascii: "-"), "accepted an image that reads as an option")
    }
    for view in TESView.allCases {
        let projected = validated.projected(to: view)
        guard let encoded = try? TESJSON.makeEncoder().encode(projected) else {
            fatalError("a validated task could not be encoded in view \(view)")
        }
        let decoded = try? TESJSON.makeDecoder().decode(TESTask.self, from: encoded)
        check(decoded == projected, "view \(view) did not survive a JSON round trip")
    }
}

/// Any query string parses or is refused; an accepted page size is within the spec's bounds.
private func checkListQuery(_ text: String) {
    let items = text.split(separator: "&").map { pair -> (name: String, value: String) in
        let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
        return (String(parts[0]), parts.count > 1 ? String(parts[1]) : "")
    }
    guard let request = try? TESListRequest.parse(query: items) else { return }
    check((1...2048).contains(request.pageSize), "page size \(request.pageSize) accepted")
    if let after = request.afterID {
        check(TESPageToken.lastID(from: TESPageToken.make(after: after)) == after, "page token round trip")
    }
}

/// `ShellQuote.quote(s)`, read back with bash's quoting rules byte by byte, is one word whose value is `s`:
/// single-quoted runs (any bytes up to the next `'`) and `\'`, nothing unquoted.
private func checkQuoting(_ text: String) {
    let quoted = Array(ShellQuote.quote(text).utf8)
    var value: [UInt8] = []
    var index = 0
    while index < quoted.count {
        if quoted[index] == UInt8(ascii: "'") {
            guard let close = quoted[(index + 1)...].firstIndex(of: UInt8(ascii: "'")) else {
                fatalError("an unterminated quote for \(text.debugDescription)")
            }
            value += quoted[(index + 1)..<close]
            index = close + 1
        } else if quoted[index] == UInt8(ascii: "\\"), index + 1 < quoted.count, quoted[index + 1] == UInt8(ascii: "'") {
            value.append(UInt8(ascii: "'"))
            index += 2
        } else {
            fatalError("an unquoted byte \(quoted[index]) in the quoting of \(text.debugDescription)")
        }
    }
    check(value == Array(text.utf8), "quoting changed \(text.debugDescription)")
}

/// A broken invariant: stops the run with the reason (`precondition` prints nothing in optimised builds).
private func check(_ condition: Bool, _ message: @autoclosure () -> String) {
    if !condition { fatalError(message()) }
}
