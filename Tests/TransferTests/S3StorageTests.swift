import Foundation
import NIOPosix
import TES
import Testing

@testable import Transfer

@Suite struct S3AddressTests {
    private func address(_ url: String, _ configuration: S3Configuration, query: [(String, String)] = []) throws -> String {
        var request = S3Request(.get, try S3Object(StorageURL(url)!))
        request.query = query
        return S3Client(configuration: configuration, limits: .init()).address(request)
    }

    @Test func awsUsesVirtualHostsAndACustomEndpointPathStyle() throws {
        let aws = S3Configuration(region: "eu-west-1")
        #expect(try address("s3://my-bucket/dir/a.txt", aws) == "https://my-bucket.s3.eu-west-1.amazonaws.com/dir/a.txt")
        // A bucket name with dots would not match AWS's wildcard certificate.
        #expect(try address("s3://my.bucket/a", aws) == "https://s3.eu-west-1.amazonaws.com/my.bucket/a")
        let minio = S3Configuration(endpoint: "http://127.0.0.1:9000/")
        #expect(try address("s3://data/dir/a.txt", minio) == "http://127.0.0.1:9000/data/dir/a.txt")
        let virtual = S3Configuration(endpoint: "https://store.example.org", addressing: .virtual)
        #expect(try address("s3://data/a", virtual) == "https://data.store.example.org/a")
        let path = S3Configuration(addressing: .path)
        #expect(try address("s3://data/a", path) == "https://s3.us-east-1.amazonaws.com/data/a")
    }

    @Test func keysAreEncodedAsS3CanonicalisesThemAndQueriesAreSorted() throws {
        let minio = S3Configuration(endpoint: "http://h:9000")
        // StorageURL holds the decoded path: a key with a space, a plus and unicode.
        #expect(try address("s3://b/a%20b+c/%C3%A9.txt", minio) == "http://h:9000/b/a%20b%2Bc/%C3%A9.txt")
        #expect(
            try address("s3://b", minio, query: [("prefix", "dir/x y"), ("list-type", "2"), ("continuation-token", "a+b=")])
                == "http://h:9000/b?continuation-token=a%2Bb%3D&list-type=2&prefix=dir%2Fx%20y"
        )
        #expect(try address("s3://b/k", minio, query: [("uploads", "")]) == "http://h:9000/b/k?uploads=")
    }

    @Test func aURLWithoutABucketIsRefused() {
        #expect(throws: TransferError.self) { try S3Object(StorageURL(scheme: "s3", host: "", path: "/k")) }
    }
}

@Suite struct S3PartSizeTests {
    @Test func partsStayWithinS3sLimitsForAnyFileSize() {
        let mib: Int64 = 1024 * 1024
        let gib = 1024 * mib
        #expect(S3Client.partBytes(for: 6 * gib, configured: 64 * mib) == 64 * mib)  // a 6 GiB file: 96 parts
        let huge = 5 * 1024 * gib  // 5 TiB, S3's largest object
        let part = S3Client.partBytes(for: huge, configured: 64 * mib)
        #expect((huge + part - 1) / part <= 10_000)
        #expect(part <= 5 * gib)  // S3's largest part
    }
}

@Suite struct S3XMLTests {
    @Test func listingsAreReadWithEntitiesDecoded() {
        let text = """
            <?xml version="1.0"?><ListBucketResult><IsTruncated>true</IsTruncated>\
            <Contents><Key>dir/a&amp;b &lt;1&gt;.txt</Key><Size>6</Size></Contents>\
            <Contents><Key>dir/&#233;&#x41;</Key><Size>0</Size></Contents>\
            <NextContinuationToken>tok&amp;en</NextContinuationToken></ListBucketResult>
            """
        let contents = S3XML.elements("Contents", in: text[...])
        #expect(contents.count == 2)
        #expect(S3XML.value("Key", in: contents[0]) == "dir/a&b <1>.txt")
        #expect(S3XML.value("Key", in: contents[1]) == "dir/éA")
        #expect(S3XML.value("Size", in: contents[0]) == "6")
        #expect(S3XML.value("NextContinuationToken", in: text[...]) == "tok&en")
        #expect(S3XML.value("Missing", in: text[...]) == nil)
        #expect(S3XML.decode("a & b &bogus; &#xZZ;") == "a & b &bogus; &#xZZ;")
        #expect(S3XML.escape("\"1&<2>\"") == "&quot;1&amp;&lt;2&gt;&quot;")
    }
}

@Suite struct S3ErrorTests {
    private func error(_ status: Int, _ code: String) -> TransferError {
        let body = Data("<Error><Code>\(code)</Code><Message>said so</Message></Error>".utf8)
        return S3Client.error(status: status, body: body, bucket: "b", url: StorageURL("s3://b/k")!, operation: "download")
    }

    @Test func s3ErrorCodesBecomeTheRightKindOfFailureNamingTheURL() {
        #expect(error(404, "NoSuchBucket").code == .notFound)
        #expect(error(404, "NoSuchBucket").description == "download of s3://b/k failed: the bucket 'b' does not exist (S3 said NoSuchBucket)")
        #expect(error(404, "NoSuchKey").code == .notFound)
        #expect(error(403, "SignatureDoesNotMatch").code == .denied)
        #expect(error(403, "SignatureDoesNotMatch").description.contains("SignatureDoesNotMatch: said so"))
        #expect(error(403, "InvalidAccessKeyId").code == .denied)
        #expect(error(403, "AccessDenied").code == .denied)
        #expect(error(503, "SlowDown").code == .transient)
        #expect(error(500, "InternalError").code == .transient)
        #expect(error(301, "PermanentRedirect").description.contains("s3.region"))
        let bare = S3Client.error(status: 403, body: Data(), bucket: "b", url: StorageURL("s3://b/k")!, operation: "size")
        #expect(bare.code == .denied)
        #expect(bare.description == "size of s3://b/k failed: S3 answered 403")
    }
}

@Suite struct S3ConfigurationTests {
    private func resolve(keyID: String = "", region: String = "", endpoint: String = "", _ environment: [String: String]) -> S3Configuration {
        S3Configuration.resolving(
            endpoint: endpoint,
            region: region,
            addressing: .auto,
            accessKeyID: keyID,
            secretAccessKey: keyID.isEmpty ? "" : "settings-secret",
            sessionToken: "",
            partBytes: 1,
            environment: environment
        )
    }

    @Test func settingsWinAndTheStandardAWSVariablesFillTheRest() {
        let environment = [
            "AWS_ACCESS_KEY_ID": "env-key", "AWS_SECRET_ACCESS_KEY": "env-secret", "AWS_SESSION_TOKEN": "env-token",
            "AWS_DEFAULT_REGION": "eu-north-1", "AWS_ENDPOINT_URL": "http://store:9000",
        ]
        let fromEnvironment = resolve(environment)
        #expect(fromEnvironment.accessKeyID == "env-key")
        #expect(fromEnvironment.secretAccessKey == "env-secret")
        #expect(fromEnvironment.sessionToken == "env-token")
        #expect(fromEnvironment.region == "eu-north-1")
        #expect(fromEnvironment.endpoint == "http://store:9000")
        // Keys are taken together: the settings' key id never goes with the environment's secret or token.
        let fromSettings = resolve(keyID: "settings-key", region: "us-west-2", endpoint: "http://other", environment)
        #expect(fromSettings.accessKeyID == "settings-key")
        #expect(fromSettings.secretAccessKey == "settings-secret")
        #expect(fromSettings.sessionToken == "")
        #expect(fromSettings.region == "us-west-2")
        #expect(fromSettings.endpoint == "http://other")
        let nothing = resolve([:])
        #expect(nothing.accessKeyID.isEmpty)
        #expect(nothing.region == "us-east-1")
        // Parts are never smaller than S3 accepts.
        #expect(nothing.partBytes == S3Configuration.minimumPartBytes)
    }
}

@Suite struct StorageRegistryTests {
    @Test func schemesAreSplitIntoWhatCanBeReadAndWhatCanBeWritten() throws {
        let threads = NIOThreadPool(numberOfThreads: 1)
        let registry = StorageRegistry([
            .init(schemes: ["http", "https"], storage: CurlStorage(threads: threads)),
            .init(schemes: ["drs"], storage: CurlStorage(threads: threads), canRead: true, canWrite: false),
        ])
        #expect(registry.readableSchemes == ["http", "https", "drs"])
        #expect(registry.writableSchemes == ["http", "https"])
        #expect(throws: TransferError.self) { try registry.writer(for: StorageURL("drs://h/o")!) }
        #expect(throws: TransferError.self) { try registry.reader(for: StorageURL("gs://b/k")!) }
        _ = try registry.reader(for: StorageURL("drs://h/o")!)
    }

    @Test func transfersServeS3AndGCSByDefaultAndReadDRS() {
        let threads = NIOThreadPool(numberOfThreads: 1)
        let registry = Transfers.registry(.init(), threads: threads)
        #expect(registry.readableSchemes == ["ftp", "ftps", "http", "https", "file", "s3", "gs", "drs"])
        #expect(registry.writableSchemes == ["ftp", "ftps", "http", "https", "file", "s3", "gs"])
    }

    @Test func gcsIsTheXMLAPIPathStyleSignedForRegionAuto() {
        let gcs = S3Configuration.googleCloudStorage(accessID: "GOOG1EXAMPLE", secret: "s")
        #expect(gcs.endpoint == "https://storage.googleapis.com" && gcs.region == "auto" && gcs.addressing == .path)
        let url = S3Presigner(client: S3Client(configuration: gcs, limits: .init()))
            .url(.get, S3Object(bucket: "b", key: "k.txt"), lifetimeSeconds: 60, now: Date(timeIntervalSince1970: 0))
        #expect(url.hasPrefix("https://storage.googleapis.com/b/k.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=GOOG1EXAMPLE%2F19700101%2Fauto%2Fs3%2Faws4_request&"))
    }
}

@Suite struct DRSStorageTests {
    private func storage(_ configuration: DRSConfiguration) -> DRSStorage {
        let threads = NIOThreadPool(numberOfThreads: 1)
        let curl = CurlStorage(threads: threads)
        return DRSStorage(curl: curl, s3: S3Storage(threads: threads, configuration: .init()), threads: threads, configuration: configuration)
    }

    @Test func objectsAreResolvedOverHTTPSExceptOnTheHostsConfiguredForPlainHTTP() {
        let drs = storage(DRSConfiguration(plainHTTPHosts: ["10.0.0.5:8080"]))
        #expect(drs.base(of: StorageURL("drs://drs.example.org/abc")!) == "https://drs.example.org/ga4gh/drs/v1/")
        #expect(drs.base(of: StorageURL("drs://10.0.0.5:8080/abc")!) == "http://10.0.0.5:8080/ga4gh/drs/v1/")
        #expect(drs.base(of: StorageURL("drs://10.0.0.5:9090/abc")!) == "https://10.0.0.5:9090/ga4gh/drs/v1/")
    }

    @Test func checksumsOfTheKindsDRSNamesAreComputedOverTheFile() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("drs-\(UUID().uuidString)").path
        try Data("abc".utf8).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(try DRSStorage.hash(path, kind: DRSStorage.hashKind("sha-256")!) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(try DRSStorage.hash(path, kind: DRSStorage.hashKind("MD5")!) == "900150983cd24fb0d6963f7d28e17f72")
        #expect(try DRSStorage.hash(path, kind: DRSStorage.hashKind("sha1")!) == "a9993e364706816aba3e25717850c26c9cd0d89d")
        #expect(DRSStorage.hashKind("crc32c") == nil)
    }
}
