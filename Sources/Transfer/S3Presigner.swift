import Crypto
import Foundation
import TES

/// Pre-signed S3 URLs (AWS Signature V4 in the query string): a URL that lets whoever holds it read (GET) or
/// write (PUT) one object until it expires, with no key. A backend that stages its own files uses them.
///
/// libcurl signs requests it makes itself but cannot sign a URL for someone else, so this is the one place TESP
/// computes a signature; the algorithm is AWS's "Authenticating Requests: Using Query Parameters".
struct S3Presigner: Sendable {
    /// AWS refuses pre-signed URLs that live longer than seven days.
    static let maximumLifetimeSeconds = 7 * 24 * 3600

    let client: S3Client

    /// A URL for `method` on `object`, good for `lifetimeSeconds` from `now`; unsigned (a plain URL) without an
    /// access key, as for a public bucket.
    func url(_ method: S3Request.Method, _ object: S3Object, lifetimeSeconds: Int, now: Date) -> String {
        let configuration = client.configuration
        let address = client.address(S3Request(.get, object))
        guard !configuration.accessKeyID.isEmpty, let components = URLComponents(string: address), let host = components.host
        else { return address }
        let stamp = Self.timestamp(now)
        let day = String(stamp.prefix(8))
        let scope = "\(day)/\(configuration.region)/s3/aws4_request"
        var query = [
            ("X-Amz-Algorithm", "AWS4-HMAC-SHA256"),
            ("X-Amz-Credential", "\(configuration.accessKeyID)/\(scope)"),
            ("X-Amz-Date", stamp),
            ("X-Amz-Expires", String(min(max(1, lifetimeSeconds), Self.maximumLifetimeSeconds))),
            ("X-Amz-SignedHeaders", "host"),
        ]
        if !configuration.sessionToken.isEmpty { query.append(("X-Amz-Security-Token", configuration.sessionToken)) }
        let canonicalQuery = PercentEncoding.query(query)
        // An HTTP client leaves a scheme's default port out of the Host header it sends, so the signature must too.
        let defaultPort = components.scheme == "https" ? 443 : 80
        let signedHost = components.port.map { $0 == defaultPort ? host : "\(host):\($0)" } ?? host
        let canonicalRequest = [
            method.rawValue, components.percentEncodedPath.isEmpty ? "/" : components.percentEncodedPath, canonicalQuery,
            "host:\(signedHost)", "", "host", "UNSIGNED-PAYLOAD",
        ].joined(separator: "\n")
        let stringToSign = ["AWS4-HMAC-SHA256", stamp, scope, Self.hex(SHA256.hash(data: Data(canonicalRequest.utf8)))]
            .joined(separator: "\n")
        var key = SymmetricKey(data: Data("AWS4\(configuration.secretAccessKey)".utf8))
        for part in [day, configuration.region, "s3", "aws4_request"] {
            key = SymmetricKey(data: Data(HMAC<SHA256>.authenticationCode(for: Data(part.utf8), using: key)))
        }
        let signature = Self.hex(HMAC<SHA256>.authenticationCode(for: Data(stringToSign.utf8), using: key))
        let base = address.split(separator: "?", maxSplits: 1).first.map(String.init) ?? address
        return base + "?" + canonicalQuery + "&X-Amz-Signature=" + signature
    }

    /// `20130524T000000Z`: the UTC time S3 signatures carry.
    static func timestamp(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        func two(_ value: Int?) -> String { value.map { $0 < 10 ? "0\($0)" : "\($0)" } ?? "00" }
        return "\(c.year ?? 1970)\(two(c.month))\(two(c.day))T\(two(c.hour))\(two(c.minute))\(two(c.second))Z"
    }

    private static func hex<D: Sequence>(_ digest: D) -> String where D.Element == UInt8 {
        digest.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }
}
