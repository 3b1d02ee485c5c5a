import TES
import Testing

/// Inputs from the security review: each was accepted before and must be refused with the field named.
@Suite struct TESHostileInputTests {
    @Test func pathRulesWorkOnBytesNotGraphemes() {
        // "/.." followed by a combining mark: one Swift Character "/\u{301}"… but the kernel sees "/../".
        for bad in ["/../\u{301}x", "/data/..\u{301}/../x", "/a/\u{301}/../b", "/a//\u{301}b", "/a/b\n", "/a/\r/b", "/a\u{7F}"] {
            #expect(TESPath.problem(with: bad) != nil, "\(bad.debugDescription)")
        }
        #expect(TESPath.problem(with: "/data/\u{301}é/ok") == nil)
        #expect(TESPath.isInside("/data/\u{301}x", directory: "/data"))
        #expect(!TESPath.isInside("/database", directory: "/data"))
        #expect(TESPath.normalised("/data/\u{301}/") == "/data/\u{301}")
        #expect(TESPath.parent(of: "/a/\u{301}b") == "/a")
    }

    @Test func listedNamesMustBeOneSegment() {
        for bad in ["", ".", "..", "../../../var/tmp/x", "a/b", "a\0b", "a\nb", "a\rb"] {
            #expect(TESPath.problem(withListedName: bad) != nil, "\(bad.debugDescription)")
        }
        #expect(TESPath.problem(withListedName: "..x") == nil)
        #expect(TESPath.problem(withListedName: "sample 1.fastq.gz") == nil)
    }

    @Test func imagesThatReadAsOptionsAreRefused() {
        for bad in ["--volume=/:/host", "--privileged", "-v", " ubuntu", "ubuntu latest", "Ubuntu", "ubuntu:", "a:b:c",
                    "ubuntu;id", "$(id)", "docker://--privileged", "library://-x", "tool.sif\n", "/../x.sif", "relative/../x",
                    "ubuntu@sha256:xyz", "ex'\u{301}ample"]
        {
            #expect(TESImage.problem(with: bad) != nil, "\(bad.debugDescription)")
            #expect(problemFields(minimalTask(TESExecutor(image: bad, command: ["true"]))) == ["executors[0].image"], "\(bad)")
        }
    }

    @Test func realImageNamesAreAccepted() {
        for good in [
            "alpine", "ubuntu:24.04", "python:3.12-slim", "quay.io/biocontainers/samtools:1.19--h50ea8bc_0",
            "localhost:5000/x/y", "ghcr.io/org/tool@sha256:" + String(repeating: "a", count: 64),
            "registry.example.org:443/a/b:v1.2", "docker.io/library/ubuntu", "my_org/my-tool", "a__b",
            "docker://ubuntu:24.04", "oras://ghcr.io/a/b:1", "library://sylabs/default/alpine:3.19", "shub://a/b",
            "/cvmfs/singularity.galaxyproject.org/s/samtools:1.19--h50ea8bc_0",
        ] {
            #expect(TESImage.problem(with: good) == nil, "\(good)")
        }
    }

    @Test func undecodableFileURLsAreRefusedNotLoopedOn() {
        let limits = TESValidationLimits(allowedFileDirectories: ["/allowed"])
        for url in ["file:///allowed/%C0%AE", "file:///allowed/%2e%2e/etc/passwd", "file:///allowed/a%00", "file://h/allowed/x"] {
            let task = TESTask(inputs: [TESInput(url: url, path: "/in")], executors: minimalTask().executors)
            #expect(problemFields(task, limits: limits) == ["inputs[0].url"], "\(url)")
        }
        let fine = TESTask(inputs: [TESInput(url: "file:///allowed/a%20b", path: "/in")], executors: minimalTask().executors)
        #expect(problemFields(fine, limits: limits) == [])
    }

    @Test func urlsWhosePasswordWouldShowAreRefused() {
        for url in ["ftp://bob:pa#ss@h/x", "ftp://bob:12/ss@h/x"] {
            let task = TESTask(inputs: [TESInput(url: url, path: "/in")], executors: minimalTask().executors)
            #expect(problemFields(task) == ["inputs[0].url"], "\(url)")
        }
    }
}

@Suite struct TESTagLimitTests {
    @Test func tagsAreBoundedInCountAndSize() {
        var many = minimalTask()
        many.tags = Dictionary(uniqueKeysWithValues: (0..<100_000).map { ("k\($0)", "v") })
        #expect(problemFields(many) == ["tags"])
        var big = minimalTask()
        big.tags = ["k": String(repeating: "v", count: 5000)]
        #expect(problemFields(big) == ["tags[k]"])
        var fine = minimalTask()
        fine.tags = Dictionary(uniqueKeysWithValues: (0..<256).map { ("k\($0)", "v") })
        #expect(problemFields(fine) == [])
    }
}
