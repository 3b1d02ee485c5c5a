import TES
import Testing
import Transfer

@Suite struct StorageURLTests {
    @Test func ftpURLsSplitIntoTheirParts() throws {
        let url = try #require(StorageURL("ftp://alice:s%40cret@ftp.example.org:2121/data/my%20file.txt"))
        #expect(url.scheme == "ftp" && url.user == "alice" && url.password == "s@cret")
        #expect(url.host == "ftp.example.org" && url.port == 2121)
        #expect(url.path == "/data/my file.txt")
        #expect(url.origin == "ftp://ftp.example.org:2121")
        #expect(url.description == "ftp://alice@ftp.example.org:2121/data/my%20file.txt")
        #expect(url.withoutCredentials.text == "ftp://ftp.example.org:2121/data/my%20file.txt")
    }

    @Test func localPathsAreFileURLs() throws {
        let bare = try #require(StorageURL("/srv/data/a.txt"))
        #expect(bare.scheme == "file" && bare.path == "/srv/data/a.txt")
        let url = try #require(StorageURL("file:///srv/data/a%20b.txt"))
        #expect(url.path == "/srv/data/a b.txt" && url.text == "file:///srv/data/a%20b.txt")
    }

    @Test func notURLsAreRejected() {
        #expect(StorageURL("relative/path") == nil)
        #expect(StorageURL("ftp:///no-host") == nil)
    }

    @Test func appendingBuildsDirectoryAndWildcardDestinations() throws {
        let url = try #require(StorageURL("ftp://h/out/"))
        #expect(url.appending("sub/x.txt").path == "/out/sub/x.txt")
        #expect(try #require(StorageURL("ftp://h/out")).appending("/x").path == "/out/x")
    }
}

@Suite struct RedactionTests {
    @Test func passwordsDisappearFromAnyText() {
        #expect(Redaction.redact("download of ftp://bob:hunter2@h/x failed") == "download of ftp://bob:***@h/x failed")
        #expect(Redaction.redact("a https://u:p@q@host:8/p?x b") == "a https://u:***@host:8/p?x b")
        #expect(Redaction.redact("ftp://anon@h/x and http://h/y") == "ftp://anon@h/x and http://h/y")
        #expect(Redaction.redact("no url at all") == "no url at all")
    }

    @Test func transferErrorsAreRedactedWhenMade() {
        let error = TransferError(.denied, "login to ftp://bob:hunter2@h/ refused")
        #expect(!error.description.contains("hunter2"))
    }
}

@Suite struct TaskCredentialsTests {
    @Test func passwordsMoveOutOfTheTask() throws {
        let task = TESTask(
            inputs: [TESInput(url: "ftp://bob:hunter2@h:21/in", path: "/in"), TESInput(path: "/c", content: "x")],
            outputs: [TESOutput(url: "https://eve:pw@store.example/out", path: "/out")]
        )
        let (stripped, secrets) = TaskCredentials.extract(from: task)
        #expect(stripped.inputs?[0].url == "ftp://bob@h:21/in")
        #expect(stripped.inputs?[1] == task.inputs?[1])
        #expect(stripped.outputs?[0].url == "https://eve@store.example/out")
        #expect(secrets == ["ftp://h:21#bob": "hunter2", "https://store.example#eve": "pw"])
        let strippedURL = try #require(stripped.inputs?[0].url)
        let key = TaskCredentials.key(for: try #require(StorageURL(strippedURL)))
        #expect(secrets[key] == "hunter2")
    }
}

/// URLs that the transfers would read differently from what a view shows are refused when a task is created.
@Suite struct StrictStorageURLTests {
    @Test func passwordsWithUnencodedDelimitersAreRefused() {
        for text in ["ftp://bob:pa#ss@h/x", "ftp://bob:12/ss@h/x", "ftp://bob:p?w@h/x", "https://h/a@b"] {
            #expect(StorageURL.problem(with: text) != nil, "\(text)")
            #expect(StorageURL(text) == nil, "\(text)")
        }
        #expect(StorageURL("ftp://bob:p%23s%2Fs@h/x")?.password == "p#s/s")
    }

    @Test func queriesAreKeptAndTheirSecretsRedacted() throws {
        let url = try #require(StorageURL("https://s3.example/b/k?X-Amz-Algorithm=AWS4&X-Amz-Signature=abc123&sig=zz&x=1"))
        #expect(url.query == "X-Amz-Algorithm=AWS4&X-Amz-Signature=abc123&sig=zz&x=1")
        #expect(url.text.hasSuffix("?X-Amz-Algorithm=AWS4&X-Amz-Signature=abc123&sig=zz&x=1"))
        #expect(url.description == "https://s3.example/b/k?X-Amz-Algorithm=AWS4&X-Amz-Signature=***&sig=***&x=1")
        #expect(url.hasSecretQuery)
        #expect(StorageURL("https://h/p?page=2")?.hasSecretQuery == false)
    }

    @Test func undecodableAndOddFileURLsAreRefused() {
        #expect(StorageURL.problem(with: "file:///allowed/%C0%AE") != nil)
        #expect(StorageURL.problem(with: "file:///allowed/%00x") != nil)
        #expect(StorageURL.problem(with: "file:///allowed/%2e%2e/etc/passwd") != nil)
        #expect(StorageURL.problem(with: "file://otherhost/x") != nil)
        #expect(StorageURL.problem(with: "ftp://h/a\nb") != nil)
        #expect(StorageURL("file://localhost/srv/a")?.path == "/srv/a")
    }

    @Test func secretQueriesMoveOutOfTheTaskAndComeBack() throws {
        let task = TESTask(inputs: [TESInput(url: "https://s3.example/b/k?X-Amz-Signature=abc&X-Amz-Date=1", path: "/in")])
        let (stripped, secrets) = TaskCredentials.extract(from: task)
        let shown = try #require(stripped.inputs?[0].url)
        #expect(shown == "https://s3.example/b/k?X-Amz-Signature=***&X-Amz-Date=1")
        let restored = TaskCredentials.restoringQuery(of: try #require(StorageURL(shown)), from: secrets)
        #expect(restored.text == "https://s3.example/b/k?X-Amz-Signature=abc&X-Amz-Date=1")
    }

    @Test func logTextLosesSignaturesToo() {
        #expect(
            Redaction.redact("GET https://h/k?X-Amz-Signature=abc&a=1 failed")
                == "GET https://h/k?X-Amz-Signature=***&a=1 failed"
        )
        #expect(Redaction.redact("see ?token=xyz\"") == "see ?token=***\"")
    }
}
