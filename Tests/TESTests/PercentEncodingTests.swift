import Foundation
import TES
import Testing

/// Query strings and keys as Pulsar, S3 and DRS get them.
@Suite struct PercentEncodingTests {
    @Test func everyValueComesBackAsItWasWhateverItHolds() throws {
        let command = "md5sum /data/a\\ b > out; echo 'x+y=z&w' | tr -d ';' # é"
        let query = PercentEncoding.query([("setup_params", "{\"job_id\": \"j\"}"), ("command_line", command), ("private_token", "t/o+k=n")])
        #expect(query.hasPrefix("command_line="))
        #expect(!query.contains(" ") && !query.contains("+") && query.split(separator: "&").count == 3)
        // A standard parser reads back exactly what was sent.
        let items = try #require(URLComponents(string: "http://h/?" + query)?.queryItems)
        #expect(items.map(\.name) == ["command_line", "private_token", "setup_params"])
        #expect(items.map(\.value) == [command, "t/o+k=n", "{\"job_id\": \"j\"}"])
    }

    @Test func pathsKeepTheirSlashesOnlyWhenAsked() {
        #expect(PercentEncoding.unreservedOnly("a b/é~.txt", keepingSlashes: true) == "a%20b/%C3%A9~.txt")
        #expect(PercentEncoding.unreservedOnly("dir/x") == "dir%2Fx")
    }
}
