import Crypto
import Foundation

/// URLs at which TESP itself serves one FILE input of one task to a backend that fetches its own inputs but may not
/// be given the input's credentials (a password, TESP's S3 keys, a DRS token): the backend fetches from TESP, TESP
/// streams from the source (``Transfers/stream(_:secret:to:)``, no copy on disk), and the secret never leaves TESP.
///
/// A URL names the task and the input's index and carries an expiry and an HMAC-SHA256 signature over both, made
/// with `server.staging_key`: any TESP process with the same key can check it (replicas behind one address), and
/// nothing is stored per URL. The server also refuses it once the task has finished. The URL is a credential for one
/// input of one running task: it is redacted in logs (`signature` is a secret query parameter) and handed only to
/// the backend running that task.
public struct ServedInputURLs: Sendable {
    /// Where backends reach this TESP (`server.public_url`), without a trailing `/`.
    public let baseURL: String
    public let lifetimeSeconds: Int
    private let key: SymmetricKey

    /// The route, below the base URL: `/staging/v1/tasks/{id}/inputs/{index}?expires=…&signature=…`.
    public static let pathPrefix = "/staging/v1/tasks"

    public init(baseURL: String, key: [UInt8], lifetimeSeconds: Int) {
        var base = baseURL
        while base.hasSuffix("/") { base.removeLast() }
        self.baseURL = base
        self.key = SymmetricKey(data: key)
        self.lifetimeSeconds = lifetimeSeconds
    }

    /// The URL of input `index` of task `taskID`, good for ``lifetimeSeconds`` from `now`.
    public func url(taskID: String, input index: Int, now: Date) -> String {
        let expires = Int(now.timeIntervalSince1970) + lifetimeSeconds
        // Task ids are TESP's own (letters, digits, '-'), safe in a path as they are.
        return "\(baseURL)\(Self.pathPrefix)/\(taskID)/inputs/\(index)?expires=\(expires)&signature=\(signature(taskID, index, expires))"
    }

    /// Whether `signature` was made by ``url(taskID:input:now:)`` with this key and `expires` has not passed.
    public func isValid(taskID: String, input index: Int, expires: Int, signature: String, now: Date) -> Bool {
        guard expires >= Int(now.timeIntervalSince1970), let given = Self.bytes(hex: signature) else { return false }
        return HMAC<SHA256>.isValidAuthenticationCode(given, authenticating: Data(Self.message(taskID, index, expires).utf8), using: key)
    }

    private func signature(_ taskID: String, _ index: Int, _ expires: Int) -> String {
        HMAC<SHA256>.authenticationCode(for: Data(Self.message(taskID, index, expires).utf8), using: key)
            .map { String(format: "%02x", $0) }.joined()
    }

    private static func message(_ taskID: String, _ index: Int, _ expires: Int) -> String {
        "tesp-served-input-v1\n\(taskID)\n\(index)\n\(expires)"
    }

    private static func bytes(hex: String) -> [UInt8]? {
        let digits = Array(hex.utf8)
        guard digits.count == 64 else { return nil }
        var bytes: [UInt8] = []
        for index in stride(from: 0, to: digits.count, by: 2) {
            guard let byte = UInt8(String(decoding: digits[index...index + 1], as: UTF8.self), radix: 16) else { return nil }
            bytes.append(byte)
        }
        return bytes
    }
}
