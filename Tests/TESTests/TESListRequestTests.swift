import TES
import Testing

@Suite struct TESListRequestTests {
    func parse(_ items: [(String, String)]) throws -> TESListRequest {
        try TESListRequest.parse(query: items.map { (name: $0.0, value: $0.1) })
    }

    func problem(_ items: [(String, String)]) -> [String] {
        do {
            _ = try TESListRequest.parse(query: items.map { (name: $0.0, value: $0.1) })
            return []
        } catch {
            return error.problems.map(\.field)
        }
    }

    @Test func defaults() throws {
        let request = try parse([])
        #expect(request == TESListRequest(filter: .init(), pageSize: 256, afterID: nil, view: .minimal))
    }

    @Test func pageSizeIsClampedOrRejected() throws {
        #expect(try parse([("page_size", "10")]).pageSize == 10)
        #expect(try parse([("page_size", "0")]).pageSize == 256)
        #expect(try parse([("page_size", "5000")]).pageSize == 2048)
        #expect(try parse([("page_size", "2048")]).pageSize == 2048)
        #expect(problem([("page_size", "-1")]) == ["page_size"])
        #expect(problem([("page_size", "ten")]) == ["page_size"])
        #expect(problem([("page_size", "99999999999999999999999")]) == ["page_size"])
    }

    @Test func tagsAreZippedByPosition() throws {
        let request = try parse([("tag_key", "a"), ("tag_key", "b"), ("tag_value", "x")])
        #expect(request.filter.tags == [.init(key: "a", value: "x"), .init(key: "b", value: nil)])
        let empty = try parse([("tag_key", "a"), ("tag_value", "")])
        #expect(empty.filter.tags == [.init(key: "a", value: nil)])
        #expect(problem([("tag_value", "x")]) == ["tag_value"])
        #expect(problem([("tag_key", "")]) == ["tag_key"])
    }

    @Test func unknownViewOrStateIsRejected() throws {
        #expect(problem([("view", "EVERYTHING")]) == ["view"])
        #expect(problem([("state", "DONE")]) == ["state"])
        #expect(try parse([("state", "QUEUED"), ("view", "FULL")]).filter.state == .queued)
    }

    @Test func pageTokensRoundTripAndGarbageIsRejected() throws {
        let id = TESTaskID.make(milliseconds: 1_700_000_000_000, random: (7, 42))
        let token = TESPageToken.make(after: id)
        #expect(!token.contains("=") && !token.contains("+") && !token.contains("/"))
        #expect(try parse([("page_token", token)]).afterID == id)
        #expect(problem([("page_token", "None")]) == ["page_token"])
        #expect(problem([("page_token", TESPageToken.make(after: "not-an-id"))]) == ["page_token"])
        #expect(try parse([("page_token", "")]).afterID == nil)
    }

    @Test func tagFilterFollowsTheSpecTable() {
        // The table in the TES 1.1 description of tag_key.
        let cases: [([TESTaskFilter.Tag], [String: String], Bool)] = [
            ([.init(key: "foo", value: "bar")], ["foo": "bar"], true),
            ([.init(key: "foo", value: "bar")], ["foo": "bat"], false),
            ([.init(key: "foo", value: nil)], ["foo": ""], true),
            ([.init(key: "foo", value: "bar"), .init(key: "baz", value: "bat")], ["foo": "bar", "baz": "bat"], true),
            ([.init(key: "foo", value: "bar")], ["foo": "bar", "baz": "bat"], true),
            ([.init(key: "foo", value: "bar"), .init(key: "baz", value: "bat")], ["foo": "bar"], false),
            ([.init(key: "foo", value: nil)], ["foo": "bar"], true),
            ([.init(key: "foo", value: nil)], [:], false),
        ]
        for (filterTags, taskTags, expected) in cases {
            let matches = TESTaskFilter(tags: filterTags).matches(TESTask(tags: taskTags))
            #expect(matches == expected, "\(filterTags) on \(taskTags)")
        }
    }

    @Test func namePrefixIsLiteral() {
        let filter = TESTaskFilter(namePrefix: "a.*")
        #expect(filter.matches(TESTask(name: "a.*b")))
        #expect(!filter.matches(TESTask(name: "abc")))
        #expect(!filter.matches(TESTask()))
    }
}
