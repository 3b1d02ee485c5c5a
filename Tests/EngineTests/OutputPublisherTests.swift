import Foundation
import TES
import Testing

@testable import Engine

@Suite struct OutputPublisherTests {
    @Test func filesDirectoriesAndWildcardsMapToTheirURLs() {
        let file = TESOutput(url: "ftp://h/results/outfile-1", path: "/data/outfile")
        #expect(OutputPublisher.destination(of: "/data/outfile", for: file)?.text == "ftp://h/results/outfile-1")
        let directory = TESOutput(url: "ftp://h/run1/", path: "/data/out", type: .directory)
        #expect(OutputPublisher.destination(of: "/data/out/sub/a.txt", for: directory)?.text == "ftp://h/run1/sub/a.txt")
        let wildcard = TESOutput(url: "ftp://h/vcf", path: "/work/*/calls.vcf", pathPrefix: "/work")
        #expect(OutputPublisher.destination(of: "/work/s1/calls.vcf", for: wildcard)?.text == "ftp://h/vcf/s1/calls.vcf")
    }

    @Test func theJobsOutputListIsRead() {
        let text = """
            {"output":0,"path":"L2RhdGEvb3V0","size":12}
            {"output":1,"missing":"L25vcGU="}
            {"output":3,"refused":"L2RhdGEvbGluaw=="}
            {"output":2,"pa
            """
        let (matches, missing, refused) = OutputPublisher.parse(Data(text.utf8))
        #expect(matches == [OutputPublisher.Match(output: 0, path: "/data/out", size: 12)])
        #expect(missing.map(\.output) == [1] && missing.map(\.path) == ["/nope"])
        #expect(refused.map(\.output) == [3] && refused.map(\.path) == ["/data/link"])
    }

    @Test func aListedPathOutsideItsOutputHasNoDestination() {
        let directory = TESOutput(url: "ftp://h/run1/", path: "/data/out", type: .directory)
        #expect(OutputPublisher.destination(of: "/data/outside/a.txt", for: directory) == nil)
        #expect(OutputPublisher.destination(of: "/data/out/../../etc/passwd", for: directory) == nil)
        #expect(OutputPublisher.destination(of: "/data/out", for: directory) == nil)
        // Byte-level: a combining mark after the '/' does not hide the path's real parts.
        #expect(OutputPublisher.destination(of: "/data/out/\u{301}x", for: directory)?.path == "/run1/\u{301}x")
    }

    @Test func aPresignedOutputURLGetsItsRealQueryBack() throws {
        let output = TESOutput(url: "https://s3.example/b/key?X-Amz-Signature=***&X-Amz-Date=1", path: "/data/o")
        let secrets = ["?https://s3.example/b/key": "X-Amz-Signature=abc&X-Amz-Date=1"]
        let destination = try #require(OutputPublisher.destination(of: "/data/o", for: output, secrets: secrets))
        #expect(destination.text == "https://s3.example/b/key?X-Amz-Signature=abc&X-Amz-Date=1")
        #expect(destination.description == "https://s3.example/b/key?X-Amz-Signature=***&X-Amz-Date=1")
    }
}
