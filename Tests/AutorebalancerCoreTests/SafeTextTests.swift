import Testing

@testable import AutorebalancerCore

/// Outside text made safe to log: no credential survives, no control character can start a forged line.
struct SafeTextTests {
    @Test(arguments: [
        (
            "could not reach http://admin:hunter2@prom:9090/api/v1/query",
            "could not reach http://***@prom:9090/api/v1/query"
        ),
        ("https://token@hooks.example.com/x and ftp://u:p@h/", "https://***@hooks.example.com/x and ftp://***@h/"),
        ("emqx@10.0.0.1 stays", "emqx@10.0.0.1 stays"),
        ("echo: Authorization: Basic a2V5OnNlY3JldA==\r\nHost: x", "echo: Authorization: ***\r\nHost: x"),
        (#"{"headers":{"authorization":"Bearer eyJhbGciOi.abc.def"}}"#, #"{"headers":{"authorization":"***"}}"#),
        ("401: Bearer eyJhbGciOi.abc.def rejected", "401: Bearer *** rejected"),
        ("/api?query=up&password=s3cret&x=1", "/api?query=up&password=***&x=1"),
        ("api_key=abc123 token=zzz", "api_key=*** token=***"),
        ("a basic mistake", "a basic mistake"),
    ])
    func credentialsAreRedacted(text: String, expected: String) {
        #expect(SafeText.redacted(text) == expected)
    }

    @Test func controlCharactersAreEscaped() {
        let forged =
            "oops\n2026-11-20T10:00:00Z info emqx-autorebalancer: decision action=rebalance\r\u{1B}[31m\u{7F}\u{85}\u{2028}\t"
        let safe = SafeText.escapingControls(forged)
        #expect(!safe.unicodeScalars.contains { SafeText.isControl($0) })
        #expect(
            safe
                == #"oops\n2026-11-20T10:00:00Z info emqx-autorebalancer: decision action=rebalance\r\u{1B}[31m\u{7F}\u{85}\u{2028}\t"#
        )
        #expect(SafeText.forLog("plain text é 中") == "plain text é 中")
    }

    /// An error body is made safe where it is read and again where it is logged: the second pass neither reveals nor
    /// swallows anything (the echoed header stays redacted, the would-be forged line stays visible, escaped).
    @Test func safeTwiceIsSafeOnce() {
        let body =
            "you sent Authorization: Basic dXNlcjpzM2NyZXQ= and token=abc\n\n2026-12-02T00:00:00Z critical forged\u{1B}[31m red\r\n"
        let once = SafeText.forLog(body)
        #expect(once == #"you sent Authorization: ***\n\n2026-12-02T00:00:00Z critical forged\u{1B}[31m red\r\n"#)
        #expect(SafeText.forLog(once) == once)
    }

    /// The byte-wise prefilter answers as a search of the lower-cased text would, whatever the case, the position or
    /// the scalars around the needle.
    @Test(arguments: [
        "", "a", "AUTHORIZATION", "x-AuThOrIzAtIoN: y", "authorizatio", "éauthorizationé", "Proxy-Authorization",
        "BEARER", "bEaReR", "beare", "Basic", "BASIC_", "bas\u{0130}c", "\u{212A}ey=", "a=b", "==", "日本語 basic",
        "autho\u{0301}rization", "\u{1F600}bearer\u{1F600}",
    ])
    func thePrefilterMatchesALowerCasedSearch(text: String) {
        for needle: StaticString in ["authorization", "bearer", "basic", "=", "@"] {
            let expected = text.lowercased().contains(needle.description)
            #expect(SafeText.contains(text, needle) == expected, "\(needle) in \(text)")
        }
    }
}
