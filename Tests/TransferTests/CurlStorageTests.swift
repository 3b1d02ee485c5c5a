import TES
import CCurl
import Testing

@testable import Transfer

@Suite struct CurlStorageTests {
    let ftp = StorageURL("ftp://u:p@h/f")!
    let http = StorageURL("https://h/f")!

    @Test func ftpRepliesDecideRetries() {
        #expect(CurlStorage.classify(CURLE_FTP_COULDNT_RETR_FILE, response: 450, message: "", url: ftp, operation: "download").code == .transient)
        #expect(CurlStorage.classify(CURLE_FTP_ACCEPT_FAILED, response: 425, message: "", url: ftp, operation: "download").code == .transient)
        #expect(CurlStorage.classify(CURLE_LOGIN_DENIED, response: 530, message: "", url: ftp, operation: "download").code == .denied)
        #expect(CurlStorage.classify(CURLE_REMOTE_FILE_NOT_FOUND, response: 550, message: "", url: ftp, operation: "download").code == .notFound)
        #expect(CurlStorage.classify(CURLE_COULDNT_CONNECT, response: 0, message: "", url: ftp, operation: "download").code == .transient)
    }

    @Test func httpStatusesDecideRetries() {
        #expect(CurlStorage.classify(CURLE_HTTP_RETURNED_ERROR, response: 503, message: "", url: http, operation: "upload").code == .transient)
        #expect(CurlStorage.classify(CURLE_HTTP_RETURNED_ERROR, response: 404, message: "", url: http, operation: "upload").code == .notFound)
        #expect(CurlStorage.classify(CURLE_HTTP_RETURNED_ERROR, response: 403, message: "", url: http, operation: "upload").code == .denied)
        #expect(CurlStorage.classify(CURLE_HTTP_RETURNED_ERROR, response: 400, message: "", url: http, operation: "upload").code == .failed)
    }

    @Test func errorsNameTheURLWithoutThePassword() {
        let error = CurlStorage.classify(CURLE_LOGIN_DENIED, response: 530, message: "Access denied", url: ftp, operation: "download")
        #expect(error.description == "download of ftp://u@h/f failed: Access denied (server said 530)")
    }

    @Test func mlsdListingsTellFilesFromDirectories() {
        let listing =
            "type=cdir;modify=2026; .\r\ntype=pdir;modify=2026; ..\r\ntype=file;size=12;modify=2026; a b.txt\r\n"
            + "type=dir;modify=2026; sub\r\ntype=OS.unix=symlink;size=3; link\r\n"
        #expect(
            MLSDEntry.parse(listing) == [
                MLSDEntry(name: "a b.txt", isDirectory: false, size: 12), MLSDEntry(name: "sub", isDirectory: true, size: nil),
            ]
        )
    }

    @Test func configuredCredentialsMatchTheServer() throws {
        let transfers = Transfers(
            .init(credentials: [try #require(StorageURL("ftp://bob:pw@files.example:2121"))]),
            logger: .init(label: "t")
        )
        #expect(
            transfers.credential(for: try #require(StorageURL("ftp://files.example:2121/x")), secret: nil) == Credential(user: "bob", password: "pw")
        )
        #expect(transfers.credential(for: try #require(StorageURL("ftp://files.example/x")), secret: nil) == nil)
        #expect(
            transfers.credential(for: try #require(StorageURL("ftp://eve@files.example:2121/x")), secret: "s")
                == Credential(user: "eve", password: "s")
        )
    }
}
