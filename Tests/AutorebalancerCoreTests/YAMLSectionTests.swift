import AutorebalancerCore
import Testing
import Yams

/// The lenient reading helper: each key named once where it is read; unknown keys reported when reading is done.
struct YAMLSectionTests {
    @Test func readsTypedValuesAndReportsWhatNobodyAskedFor() throws {
        let reader = YAMLReader(file: "s.yaml")
        let root = try #require(
            reader.parse(
                """
                name: a
                port: 80
                gone: ~
                timeoutt: 5s
                nested: {list: [x, 2]}
                """
            )
        )
        let read = YAMLSection.read(root, "top", reader) { s in
            (
                s.string("name"), s.int("port"), s.value("gone"), s.isWritten("gone"), s.duration("timeout"),
                s.section("nested") { $0.strings("list") }
            )
        }
        let (name, port, gone, goneWritten, timeout, list) = try #require(read)
        #expect(name?.value == "a")
        #expect(name?.location.line == 1)
        #expect(port?.value == 80)
        #expect(gone == nil && goneWritten)  // null is absent, yet written
        #expect(timeout == nil)
        #expect(list??.value.map { $0?.value } == ["x", "2"])
        #expect(
            reader.diagnostics.map(\.description) == [
                "s.yaml:4:1: error: top: unknown key \"timeoutt\" (did you mean \"timeout\"?)"
            ]
        )
    }

    @Test func aValueThatIsNotAMappingIsReportedOnce() throws {
        let reader = YAMLReader(file: "s.yaml")
        let root = try #require(reader.parse("[1, 2]"))
        let read: Int? = YAMLSection.read(root, "", reader, name: "the document") { _ in 1 }
        #expect(read == nil)
        #expect(reader.diagnostics.map(\.message) == ["the document: expected a mapping, got a list"])
    }
}
