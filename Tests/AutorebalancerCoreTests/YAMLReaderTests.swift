import Testing

@testable import AutorebalancerCore

struct YAMLReaderTests {
    /// libyaml's message for a tab says nothing of tabs; the diagnostic does.
    @Test func aTabInTheIndentationGetsAHint() {
        let text = "apiVersion: autorebalancer.emqx.io/v1alpha1\nkind: Policy\nspec:\n\trules: []\n"
        let diagnostics = PolicyLoader.load(text: text, file: "p.yaml").diagnostics
        #expect(diagnostics.count == 1)
        #expect(diagnostics.first?.description.hasPrefix("p.yaml:4:") == true)
        #expect(
            diagnostics.first?.message.contains(
                "line 4 is indented with a tab: YAML allows only spaces for indentation"
            ) == true,
            "\(diagnostics)"
        )
        // Tabs inside values are fine and get no hint.
        let fine = PolicyLoader.load(text: "apiVersion: x\nkind: Policy\nmetadata: {name: \"a\tb\"}\n", file: "p.yaml")
            .diagnostics
        #expect(!fine.contains { $0.message.contains("tab") })
    }
}
