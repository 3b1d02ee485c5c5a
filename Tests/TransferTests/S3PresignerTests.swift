import Foundation
import NIOPosix
import TES
import Testing

@testable import Transfer

/// Pre-signed GET URLs, checked against AWS's own worked example and against what a Pulsar-side fetch needs.
@Suite struct S3PresignerTests {
    /// 2013-05-24T00:00:00Z, the time of AWS's example.
    private let exampleTime = Date(timeIntervalSince1970: 1_369_353_600)

    private func presign(_ url: String, _ configuration: S3Configuration, lifetime: Int = 86400) throws -> String {
        S3Presigner(client: S3Client(configuration: configuration, limits: .init()))
            .url(.get, try S3Object(StorageURL(url)!), lifetimeSeconds: lifetime, now: exampleTime)
    }

    @Test func theSignatureIsTheOneAWSDocumentsForItsExample() throws {
        // "Authenticating Requests: Using Query Parameters (AWS Signature Version 4)", Amazon S3 API reference.
        let example = S3Configuration(
            endpoint: "https://s3.amazonaws.com",
            addressing: .virtual,
            accessKeyID: "AKIAIOSFODNN7EXAMPLE",
            secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
        )
        #expect(
            try presign("s3://examplebucket/test.txt", example)
                == "https://examplebucket.s3.amazonaws.com/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256"
                + "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
                + "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host"
                + "&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"
        )
    }

    @Test func aSessionTokenIsSignedAlongAndTheLifetimeIsBoundedBySevenDays() throws {
        let temporary = S3Configuration(endpoint: "http://127.0.0.1:9000", accessKeyID: "AK", secretAccessKey: "SK", sessionToken: "to/ken")
        let url = try presign("s3://data/dir/a b.txt", temporary, lifetime: 30 * 24 * 3600)
        #expect(url.hasPrefix("http://127.0.0.1:9000/data/dir/a%20b.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&"))
        #expect(url.contains("&X-Amz-Expires=604800&X-Amz-Security-Token=to%2Fken&X-Amz-SignedHeaders=host&X-Amz-Signature="))
        // A different token is a different signature.
        var other = temporary
        other.sessionToken = "other"
        let signature = { (text: String) in text.components(separatedBy: "X-Amz-Signature=").last ?? "" }
        #expect(try signature(presign("s3://data/dir/a b.txt", other)) != signature(url))
    }

    @Test func withoutKeysTheURLIsPlainAsForAPublicBucket() throws {
        #expect(try presign("s3://public/p/a.txt", S3Configuration(endpoint: "http://127.0.0.1:9000")) == "http://127.0.0.1:9000/public/p/a.txt")
    }

    @Test func theStorageSaysWhetherItsURLIsASecret() throws {
        let threads = NIOThreadPool(numberOfThreads: 1)  // never started: signing blocks nothing
        let signed = S3Storage(threads: threads, configuration: S3Configuration(endpoint: "http://h:9000", accessKeyID: "AK", secretAccessKey: "SK"))
        let url = StorageURL("s3://b/k")!
        let direct = try #require(signed.directReadURL(for: url, credentials: nil, lifetimeSeconds: 60, now: exampleTime))
        #expect(direct.isCredential && direct.text.contains("X-Amz-Credential=AK%2F"))
        // A bucket's own key (transfer.credentials) signs instead of the configured one.
        let own = try #require(signed.directReadURL(for: url, credentials: Credential(user: "BK", password: "BS"), lifetimeSeconds: 60, now: exampleTime))
        #expect(own.text.contains("X-Amz-Credential=BK%2F"))
        // The redaction every log line and view goes through hides what makes it a credential.
        #expect(!Redaction.redact(direct.text).contains("AK%2F") && !Redaction.redact(direct.text).contains(direct.text.suffix(64)))
        let anonymous = S3Storage(threads: threads, configuration: S3Configuration(endpoint: "http://h:9000"))
        #expect(anonymous.directReadURL(for: url, credentials: nil, lifetimeSeconds: 60, now: exampleTime) == DirectURL("http://h:9000/b/k", isCredential: false))
        #expect(anonymous.directReadURL(for: StorageURL("s3://b")!, credentials: nil, lifetimeSeconds: 60, now: exampleTime) == nil)
    }
}
