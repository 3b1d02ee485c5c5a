import Crypto
import Foundation
import NIOPosix
import TES

/// How TESP reaches DRS servers: a bearer token per host, and the hosts it may resolve over plain HTTP.
public struct DRSConfiguration: Sendable, Equatable {
    /// Bearer tokens by host (`drs.example.org` or `drs.example.org:8443`), sent when resolving objects there.
    public var tokens: [String: String]
    /// Hosts resolved over `http://` instead of `https://` (a DRS server on a private network, tests).
    public var plainHTTPHosts: Set<String>

    public init(tokens: [String: String] = [:], plainHTTPHosts: Set<String> = []) {
        self.tokens = tokens
        self.plainHTTPHosts = plainHTTPHosts
    }
}

/// `drs://host/object_id` inputs (GA4GH DRS 1.x): the object is resolved at
/// `https://host/ga4gh/drs/v1/objects/{id}`, then read through the first of its access methods TESP can read
/// (https, http, s3, ftp; an `access_id` is turned into a URL and headers through `/access/{access_id}`), with the
/// headers DRS gives. The size and a checksum DRS states (sha-256, sha-512, sha-1 or md5) are checked. DRS is
/// read-only: outputs cannot go there, and bundles (objects with contents, not bytes) are refused.
public struct DRSStorage: Storage {
    private let curl: CurlStorage
    private let s3: S3Storage
    private let threads: NIOThreadPool
    public let configuration: DRSConfiguration

    public init(curl: CurlStorage, s3: S3Storage, threads: NIOThreadPool, configuration: DRSConfiguration) {
        self.curl = curl
        self.s3 = s3
        self.threads = threads
        self.configuration = configuration
    }

    public func download(_ url: StorageURL, to localPath: String, credentials: Credential?) async throws -> Int64 {
        let object = try await resolve(url)
        guard let methods = object.accessMethods, !methods.isEmpty else {
            if object.contents?.isEmpty == false {
                throw TransferError(.unsupported, "\(url) is a DRS bundle; TESP reads DRS objects with bytes only")
            }
            throw TransferError(.failed, "\(url): the DRS object has no access methods")
        }
        var lastError: (any Error)?
        for method in methods where Self.readableTypes.contains(method.type.lowercased()) {
            do {
                let access = try await accessURL(of: method, object: url)
                guard let target = StorageURL(access.url), Self.readableTypes.contains(target.scheme) else {
                    throw TransferError(.failed, "\(url): DRS gave an access URL TESP cannot read")
                }
                let bytes: Int64
                switch target.scheme {
                case "s3": bytes = try await s3.download(target, to: localPath, credentials: nil)
                default: bytes = try await curl.download(target, to: localPath, credentials: nil, headers: access.headers ?? [])
                }
                try await verify(localPath, bytes: bytes, against: object, url: url)
                return bytes
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                lastError = error  // the next access method may work
            }
        }
        if let lastError { throw lastError }
        let types = methods.map(\.type).joined(separator: ", ")
        throw TransferError(.unsupported, "\(url): none of the DRS object's access methods (\(types)) is one TESP reads (https, http, s3, ftp)")
    }

    public func upload(_ localPath: String, to url: StorageURL, credentials: Credential?) async throws -> Int64 {
        throw TransferError(.unsupported, "outputs cannot be written to DRS (\(url))")
    }

    public func listFiles(under url: StorageURL, credentials: Credential?) async throws -> [RemoteFile] {
        throw TransferError(.unsupported, "DIRECTORY inputs cannot come from DRS (\(url))")
    }

    public func size(of url: StorageURL, credentials: Credential?) async throws -> Int64? {
        try await resolve(url).size
    }

    static let readableTypes: Set<String> = ["https", "http", "s3", "ftp", "ftps"]

    /// Where the DRS server of `url` answers: `https://host/ga4gh/drs/v1/` (plain http for the hosts configured so).
    func base(of url: StorageURL) -> String {
        let authority = url.host + (url.port.map { ":\($0)" } ?? "")
        let scheme = configuration.plainHTTPHosts.contains(authority) || configuration.plainHTTPHosts.contains(url.host) ? "http" : "https"
        return "\(scheme)://\(authority)/ga4gh/drs/v1/"
    }

    private func headers(for url: StorageURL) -> [String] {
        let authority = url.host + (url.port.map { ":\($0)" } ?? "")
        guard let token = configuration.tokens[authority] ?? configuration.tokens[url.host] else { return ["Accept: application/json"] }
        return ["Accept: application/json", "Authorization: Bearer \(token)"]
    }

    private func objectID(of url: StorageURL) throws -> String {
        let id = url.path.hasPrefix("/") ? String(url.path.dropFirst()) : url.path
        guard !url.host.isEmpty, !id.isEmpty else {
            throw TransferError(.failed, "\(url) is not a DRS URI of the form drs://host/object_id (compact identifiers are not supported)")
        }
        return id
    }

    func resolve(_ url: StorageURL) async throws -> DRSObject {
        let id = try objectID(of: url)
        let address = base(of: url) + "objects/" + PercentEncoding.unreservedOnly(id)
        let data = try await get(address, for: url, what: "the DRS object")
        do {
            return try JSONDecoder().decode(DRSObject.self, from: data)
        } catch {
            throw TransferError(.failed, "\(url): the DRS server's answer is not a DRS object")
        }
    }

    private func accessURL(of method: DRSObject.AccessMethod, object url: StorageURL) async throws -> DRSObject.AccessURL {
        if let access = method.accessURL { return access }
        guard let accessID = method.accessID else {
            throw TransferError(.failed, "\(url): a DRS access method has neither access_url nor access_id")
        }
        let id = try objectID(of: url)
        let address = base(of: url) + "objects/" + PercentEncoding.unreservedOnly(id) + "/access/" + PercentEncoding.unreservedOnly(accessID)
        let data = try await get(address, for: url, what: "the access URL '\(accessID)'")
        do {
            return try JSONDecoder().decode(DRSObject.AccessURL.self, from: data)
        } catch {
            throw TransferError(.failed, "\(url): the DRS server's answer for access id '\(accessID)' is not an access URL")
        }
    }

    private func get(_ address: String, for url: StorageURL, what: String) async throws -> Data {
        guard let target = StorageURL(address) else { throw TransferError(.failed, "\(url) cannot be resolved: bad DRS address") }
        do {
            return try await curl.fetch(target, headers: headers(for: url))
        } catch let error as TransferError {
            // The DRS address says nothing a user needs that the drs:// URI does not.
            switch error.code {
            case .notFound: throw TransferError(.notFound, "\(url): the DRS server has no such object (resolving \(what))")
            case .denied: throw TransferError(.denied, "\(url): the DRS server refused to resolve \(what) (is a drs.tokens entry missing?)")
            default: throw TransferError(error.code, "\(url): resolving \(what) failed: \(error)")
            }
        }
    }

    /// Checks the size and the first checksum of a kind TESP can compute.
    private func verify(_ path: String, bytes: Int64, against object: DRSObject, url: StorageURL) async throws {
        if let size = object.size, size != bytes {
            throw TransferError(.failed, "\(url): DRS says \(size) bytes, \(bytes) arrived")
        }
        guard let checksum = object.checksums?.first(where: { Self.hashKind($0.type) != nil }), let kind = Self.hashKind(checksum.type) else { return }
        let digest = try await threads.runIfActive { try Self.hash(path, kind: kind) }
        guard digest == checksum.checksum.lowercased() else {
            throw TransferError(.failed, "\(url): its \(checksum.type) checksum does not match what DRS states")
        }
    }

    enum HashKind { case sha256, sha512, sha1, md5 }

    static func hashKind(_ type: String) -> HashKind? {
        switch type.lowercased().replacingOccurrences(of: "-", with: "") {
        case "sha256": return .sha256
        case "sha512": return .sha512
        case "sha1": return .sha1
        case "md5": return .md5
        default: return nil
        }
    }

    /// The hex digest of the file at `path`, read in 1 MiB blocks.
    static func hash(_ path: String, kind: HashKind) throws -> String {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw TransferError(.failed, "cannot read \(path)") }
        defer { try? handle.close() }
        func digest<H: HashFunction>(_ hasher: inout H) throws -> String {
            while let block = try handle.read(upToCount: 1 << 20), !block.isEmpty { hasher.update(data: block) }
            return hasher.finalize().map { String(format: "%02x", $0) }.joined()
        }
        switch kind {
        case .sha256:
            var hasher = SHA256()
            return try digest(&hasher)
        case .sha512:
            var hasher = SHA512()
            return try digest(&hasher)
        case .sha1:
            var hasher = Insecure.SHA1()
            return try digest(&hasher)
        case .md5:
            var hasher = Insecure.MD5()
            return try digest(&hasher)
        }
    }
}

/// The parts of a DRS 1.x `DrsObject` TESP reads.
struct DRSObject: Decodable, Sendable {
    struct Checksum: Decodable, Sendable {
        var checksum: String
        var type: String
    }

    struct AccessURL: Decodable, Sendable {
        var url: String
        /// `Name: value` lines to send with the request.
        var headers: [String]?
    }

    struct AccessMethod: Decodable, Sendable {
        var type: String
        var accessURL: AccessURL?
        var accessID: String?

        enum CodingKeys: String, CodingKey {
            case type
            case accessURL = "access_url"
            case accessID = "access_id"
        }
    }

    struct Content: Decodable, Sendable {
        var name: String?
    }

    var id: String?
    var size: Int64?
    var checksums: [Checksum]?
    var accessMethods: [AccessMethod]?
    var contents: [Content]?

    enum CodingKeys: String, CodingKey {
        case id, size, checksums, contents
        case accessMethods = "access_methods"
    }
}
