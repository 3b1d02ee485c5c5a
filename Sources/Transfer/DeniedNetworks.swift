import CCurl
import Foundation

/// Networks transfers must not connect to (`transfer.denied_networks`): by default link-local addresses, where
/// cloud metadata services answer (169.254.169.254, fd00:ec2::254), so that a task's URL cannot make TESP fetch
/// the host's cloud credentials. Checked on every address libcurl connects to, after DNS and redirects, FTP data
/// connections included, so neither a DNS name nor a redirect gets around it.
public struct DeniedNetworks: Sendable, Equatable {
    struct Network: Sendable, Equatable {
        var bytes: [UInt8]  // 4 (IPv4) or 16 (IPv6)
        var prefix: Int

        func contains(_ address: [UInt8]) -> Bool {
            guard address.count == bytes.count else { return false }
            var left = prefix
            for (a, b) in zip(address, bytes) {
                if left <= 0 { return true }
                let bits = min(8, left)
                let mask = UInt8(truncatingIfNeeded: 0xFF << (8 - bits))
                if a & mask != b & mask { return false }
                left -= bits
            }
            return true
        }
    }

    let networks: [Network]

    public static let defaultCIDRs = ["169.254.0.0/16", "fe80::/10", "fd00:ec2::254/128"]
    /// ``defaultCIDRs``.
    public static let linkLocal = (try? DeniedNetworks(cidrs: defaultCIDRs)) ?? DeniedNetworks(networks: [])

    init(networks: [Network]) { self.networks = networks }

    /// - Throws: a message naming the entry that is not `address/prefix`.
    public init(cidrs: [String]) throws(TransferError) {
        var networks: [Network] = []
        for cidr in cidrs {
            let parts = cidr.split(separator: "/", maxSplits: 1).map(String.init)
            let text = parts[0]
            var bytes: [UInt8]
            if text.contains(":") {
                var address = in6_addr()
                guard inet_pton(AF_INET6, text, &address) == 1 else { throw TransferError(.failed, "'\(cidr)' is not a network") }
                bytes = withUnsafeBytes(of: address) { Array($0) }
            } else {
                var address = in_addr()
                guard inet_pton(AF_INET, text, &address) == 1 else { throw TransferError(.failed, "'\(cidr)' is not a network") }
                bytes = withUnsafeBytes(of: address) { Array($0) }
            }
            let prefix = parts.count == 2 ? Int(parts[1]) : bytes.count * 8
            guard let prefix, (0...(bytes.count * 8)).contains(prefix) else {
                throw TransferError(.failed, "'\(cidr)' has no valid prefix length")
            }
            networks.append(Network(bytes: bytes, prefix: prefix))
        }
        self.networks = networks
    }

    /// Whether `host` is an IP literal (`169.254.169.254`, `[fe80::1]`) in a denied network; a name is not resolved.
    public func deniesLiteral(_ host: String) -> Bool {
        let bare = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        var v4 = in_addr()
        if inet_pton(AF_INET, bare, &v4) == 1 {
            return denies(withUnsafeBytes(of: &v4) { Array($0) })
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, bare, &v6) == 1 {
            return denies(withUnsafeBytes(of: &v6) { Array($0) })
        }
        return false
    }

    /// Whether `address` (4 or 16 bytes; an IPv4-mapped IPv6 address counts as its IPv4 address) is denied.
    func denies(_ address: [UInt8]) -> Bool {
        var candidates = [address]
        if address.count == 16, address[0..<10].allSatisfy({ $0 == 0 }), address[10] == 0xFF, address[11] == 0xFF {
            candidates.append(Array(address[12...]))
        }
        return candidates.contains { candidate in networks.contains { $0.contains(candidate) } }
    }
}

/// The user data of one transfer's open-socket callback: the networks to refuse, and the address it refused.
final class CurlSocketGuard {
    let denied: DeniedNetworks
    var refusedAddress: String?

    init(denied: DeniedNetworks) { self.denied = denied }
}

/// Refuses a connection to a denied network, else opens the socket as libcurl would.
let curlOpenSocket: tesp_curl_opensocket_callback = { context, _, address in
    let record = address.pointee
    guard let context else { return tesp_curl_socket_bad() }
    let guardian = Unmanaged<CurlSocketGuard>.fromOpaque(context).takeUnretainedValue()
    var bytes: [UInt8] = []
    var text = ""
    withUnsafePointer(to: address.pointee.addr) { pointer in
        switch Int32(record.family) {
        case AF_INET:
            (bytes, text) = pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) {
                withUnsafePointer(to: $0.pointee.sin_addr) {
                    addressBytesAndText($0, size: MemoryLayout<in_addr>.size, family: AF_INET, length: INET_ADDRSTRLEN)
                }
            }
        case AF_INET6:
            (bytes, text) = pointer.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) {
                withUnsafePointer(to: $0.pointee.sin6_addr) {
                    addressBytesAndText($0, size: MemoryLayout<in6_addr>.size, family: AF_INET6, length: INET6_ADDRSTRLEN)
                }
            }
        default:
            break
        }
    }
    if !bytes.isEmpty, guardian.denied.denies(bytes) {
        guardian.refusedAddress = text
        return tesp_curl_socket_bad()
    }
    return socket(record.family, record.socktype | Int32(SOCK_CLOEXEC.rawValue), record.protocol)
}

/// An `in_addr` or `in6_addr` (`size` bytes at `address`) as its bytes, in network order, and as text.
private func addressBytesAndText(_ address: UnsafeRawPointer, size: Int, family: Int32, length: Int32) -> ([UInt8], String) {
    let bytes = Array(UnsafeRawBufferPointer(start: address, count: size))
    var buffer = [CChar](repeating: 0, count: Int(length))
    inet_ntop(family, address, &buffer, socklen_t(buffer.count))
    return (bytes, String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
}
