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
            {"output":2,"pa
            """
        let (matches, missing) = OutputPublisher.parse(Data(text.utf8))
        #expect(matches == [OutputPublisher.Match(output: 0, path: "/data/out", size: 12)])
        #expect(missing.map(\.output) == [1] && missing.map(\.path) == ["/nope"])
    }
}
