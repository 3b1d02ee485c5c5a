// A libFuzzer target over the pure TES code: what a client's bytes reach before anything is stored.
// Built with the TES sources into one module by scripts/fuzz; a trap or a broken invariant is a finding.
import Foundation

private let limits = TESValidationLimits(
    maxExecutors: 50,
    supportedBackendParameters: ["VmSize"],
    supportedURLSchemes: ["ftp", "ftps", "http", "https", "file"],
    allowedFileDirectories: ["/srv/data"]
)

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ bytes: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let data = Data(bytes: bytes, count: count)
    checkTask(data)
    checkListQuery(String(decoding: data, as: UTF8.self))
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
    for path in paths {
        check(path.hasPrefix("/"), "accepted a relative path: \(path)")
        check(!path.split(separator: "/").contains(".."), "accepted a path with '..': \(path)")
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

/// A broken invariant: stops the run with the reason (`precondition` prints nothing in optimised builds).
private func check(_ condition: Bool, _ message: @autoclosure () -> String) {
    if !condition { fatalError(message()) }
}
