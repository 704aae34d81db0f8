import Foundation
import TestSupport
import Testing

@testable import Kubernetes

/// `tls-server-name` is honoured (the certificate is checked for that name, the connection goes to the server's
/// address), and a certificate the configured CA does not sign is a clear, unretried error naming the CA file. The
/// certificates are test-only, made for this test: a CA, a server certificate for `kubernetes.test` only (no IP), and
/// an unrelated CA; valid until 2126.
struct TLSServerNameTests {
    static let caPEM = """
        -----BEGIN CERTIFICATE-----
        MIIDETCCAfmgAwIBAgIUTbS3kdsyftbGZWM9XgsWJyWVUAQwDQYJKoZIhvcNAQEL
        BQAwFzEVMBMGA1UEAwwMdGVzdC1uYW1lLWNhMCAXDTI2MTIwMjAwNDEwM1oYDzIx
        MjYxMTA4MDA0MTAzWjAXMRUwEwYDVQQDDAx0ZXN0LW5hbWUtY2EwggEiMA0GCSqG
        SIb3DQEBAQUAA4IBDwAwggEKAoIBAQC3VaZD/iWnCVKQtVzypASButmXRnsA/MRq
        NCCmXqIv6O/FiTUHonZxAV8pxIUxoZaO3tVIwL+lN+1YP8dr1VmLlDYm/3bCGOAQ
        bpAAkhQxP3SLKiInDH0nz7kyB4zS/zZk6lWVbuzdhRLC0vWu2BGe/nbtId+ts1A2
        m4fO7A6ynaw7UcpIFR7HEKgNPleb58802yfsH7L8z3408fBf0onWHm9GcIlIxqAi
        NLpob0DHsJx7/4aB1ok4OpHfIcuArttSgNMqMLmz2t9J/VZ9B2KMtm9ce9WCfnoM
        DS2CMQn2zJf4xO6SuXudkfCeoeGuKS77ARMXA3yk3qpi92RnpSoZAgMBAAGjUzBR
        MB0GA1UdDgQWBBQr08+zZkSKI9lRc4p61qEOzpXH/jAfBgNVHSMEGDAWgBQr08+z
        ZkSKI9lRc4p61qEOzpXH/jAPBgNVHRMBAf8EBTADAQH/MA0GCSqGSIb3DQEBCwUA
        A4IBAQCKHUUwO9LNhr1ytMKXxPIj50lkma3vyC8moTmdZ+wIGvl02GFM/xydVFPW
        WH7/br+1ZRlPiSIwMrk39UNoVf39YlMdM42R8PUgfTPrLaCAyxy58Xt/uBK8t9Gw
        PpTTbZnR7mMzEKMDmp3xQ2C5NLAYejq0LWuF3GxEokLr6ouWfDEaWZ+0UmMCmHIq
        +xxuhCwloA9x+Q1HDmgnW+kEpFGLFwArFD+gzVVC+SdZcZLXaMKQOvyC+ja+sVSC
        WQwgKPgbypeCRNnSDBLtZOJ+Qf/P5UXdpRbI/Adlzv05SklHOLQO7K4SivI9dxOd
        4LP3jyJyIkUcFXeNFw/Zef3gxbnZ
        -----END CERTIFICATE-----
        """
    static let otherCAPEM = """
        -----BEGIN CERTIFICATE-----
        MIIDEzCCAfugAwIBAgIUWm0akdD1p8gCvPa5QOD4UbeBhEIwDQYJKoZIhvcNAQEL
        BQAwGDEWMBQGA1UEAwwNc29tZS1vdGhlci1jYTAgFw0yNjEyMDIwMDQxMDVaGA8y
        MTI2MTEwODAwNDEwNVowGDEWMBQGA1UEAwwNc29tZS1vdGhlci1jYTCCASIwDQYJ
        KoZIhvcNAQEBBQADggEPADCCAQoCggEBAMPkf5/rnnwI4Cs3XrP/Ow6b+wTsmMbx
        YbXaOStV9suGVrrkkfq0BBEGFQISxxQyMaGTpzmGtINDSe20QZINPQNUTyYryHOB
        JelnHz4VjQv3J8tlxCkoSYQSi//1wttfOPmiqPldX9qKieG9eIc07VYQrA1pSRMm
        vTgF6YkFl38q/akhEXw597NaDN2ud0YskahcVAUigJDP047OTZS6PnVlPBYyUESL
        WU4aADJmv7+pHyTfoVWKcNm/yQHbkJ+BySIeEdmNufH8tmCaJl5XWg4OlBYSV6fD
        6ioP3TeUuKM9Au0D5Li75k3NmCUxXMAC+rxvUNkEV6CZRrjHk1vo+V0CAwEAAaNT
        MFEwHQYDVR0OBBYEFBFOqam8lDnxGBPOdC2IDAlrJG6YMB8GA1UdIwQYMBaAFBFO
        qam8lDnxGBPOdC2IDAlrJG6YMA8GA1UdEwEB/wQFMAMBAf8wDQYJKoZIhvcNAQEL
        BQADggEBAEPh4K+SX85BPGdTWdQ16dxop6ckxFa1ZxxVk7dIDaquMOUl1Wv9VHL4
        uLrgCO+/ewgU0f3IMFvweSDaoNCiuukLSOAnHgOBk5zukxNmpkZnv0Q6EYLqlYT1
        sWwDrOXpiFbN9vT/VYhMcauBa50JbIeYRisa9wf1PVwX4ng2qcpy74cE8eLd3/KF
        cE+kx994Qtnqs6FYtOgbe2xCZX3LfMs1g4w/+TsN7rTp90tg74gfN+HI8SPeBMhK
        e3jvXePzWyZzA4PnzDb/mCkglV8T6oZRUKqL61rebh2SSVySbw8h4ZDw7lAAbxsc
        ZBgIoox+PdV5QRzgeu5cp970k4n0n0Q=
        -----END CERTIFICATE-----
        """
    static let serverCertificatePEM = """
        -----BEGIN CERTIFICATE-----
        MIIDKjCCAhKgAwIBAgIUBgnyxSKP2xxWto+AOQzV7Jp/n1UwDQYJKoZIhvcNAQEL
        BQAwFzEVMBMGA1UEAwwMdGVzdC1uYW1lLWNhMCAXDTI2MTIwMjAwNDEwNVoYDzIx
        MjYxMTA4MDA0MTA1WjAaMRgwFgYDVQQDDA9rdWJlcm5ldGVzLnRlc3QwggEiMA0G
        CSqGSIb3DQEBAQUAA4IBDwAwggEKAoIBAQCvVB5l74e/0G2LPyPdSChMBUKuKKeB
        R7SA+9IPZkDJmC2LTVR3wZYpMVNM631Z/s79C68z5+sMF5kDAYfg3P3f+84EG5jP
        A3oVPu3JL87cJzV1wdeL2gH/WpiGSSM4POlrC0qmoFzLab+vi0OE0QiVZ/IuLdau
        80z+FE/spvozWTPhEuyDafeMfZtAYlWYTsHR4/DGuTIX9yzHOm4z3JWBuC4w5VRW
        M1VDwtHf/iEAKcMIc/VgB44u8QcDBlCG168xf69L2DmTNCauvHTmEIjTp3If+K/r
        61H99Udf3CWmRFKUz/YxvCZckgSeka83ZJp4gGgtxTsnoRnlC7LN5SpNAgMBAAGj
        aTBnMBoGA1UdEQQTMBGCD2t1YmVybmV0ZXMudGVzdDAJBgNVHRMEAjAAMB0GA1Ud
        DgQWBBT2JdXy7nS0q03TTq6aRFDhpUGhlTAfBgNVHSMEGDAWgBQr08+zZkSKI9lR
        c4p61qEOzpXH/jANBgkqhkiG9w0BAQsFAAOCAQEAMG9+9w23np7g8TfH9SYH0kvK
        T8Ql9eNGn7+IovTjy6EPb9v1yaRlhPZ3AI/FLZ0piRB5rnUGoVXQbS8iOHjDB63n
        P2Bk5l60LVQO5WZzJkhLUzTxyguxkPy/ox+OWdxCAuJy5JWXa3pdxyzRV6ked6LU
        3Cyqx5OjE2No5CyA/CQDZsg/mzpALYUbxehvzHoQN+UmnDPc0GGBABreWGnkQ1UW
        Bqc6nCL+EFiqcViIWwXC6cTZvi/WFxYEVugO7IzSe35TeoDU38Rmu+GghrClgMyt
        Atfy281SyIY1V3FjjB3dO7nHmLbvRlm+31cH04ZzfRb3oNKE7030zv+sty5W6w==
        -----END CERTIFICATE-----
        """
    static let serverKeyPEM = """
        -----BEGIN PRIVATE KEY-----
        MIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgwggSkAgEAAoIBAQCvVB5l74e/0G2L
        PyPdSChMBUKuKKeBR7SA+9IPZkDJmC2LTVR3wZYpMVNM631Z/s79C68z5+sMF5kD
        AYfg3P3f+84EG5jPA3oVPu3JL87cJzV1wdeL2gH/WpiGSSM4POlrC0qmoFzLab+v
        i0OE0QiVZ/IuLdau80z+FE/spvozWTPhEuyDafeMfZtAYlWYTsHR4/DGuTIX9yzH
        Om4z3JWBuC4w5VRWM1VDwtHf/iEAKcMIc/VgB44u8QcDBlCG168xf69L2DmTNCau
        vHTmEIjTp3If+K/r61H99Udf3CWmRFKUz/YxvCZckgSeka83ZJp4gGgtxTsnoRnl
        C7LN5SpNAgMBAAECggEAE0WcDMjiQ02SCPURCGUC1u5aGMIrvVxoJSho+9vZwb8K
        PI5suzgqfQ8osKMO9Yo6btqusLYsojjizw+HQ8qO1mS7jbyJ1LF1ZSn0YcGxS4Y8
        zFuZCYyWXR70dohKCIe7gZJta3jjklFmqlFUw9/lQWT6XCSaPUNNon0Rlvn4tRWJ
        opASF/b+M9iKjQ+klVPgsnU0UCXCfd8d2jAFtHWFA8vo+5deS2FXLs84X/2aaoi5
        nwFDeW9XK6mzCdG9drSJry7xrAZ42gntwadSNv5GUhICVgM8Pl9TbmBWh6fMinRO
        V0WhjvF7RFZeMCL19z8jU76HDKvAlyJEVaeYVtUPoQKBgQDhNBmHdMvj9imxy8C3
        r+/ElUpBFtHOM7zg7H+o02kw9QU1w7tBDzQiXBcqTGsXvevHM3TGQGTkGMevuLhX
        v0pdow02HMvjPaMW9ClOBQEgHjXem3FuzcWVbak/Mrz50mSkNjx3UofgHFmPBqcZ
        etQcvTuoZoyioeod292ODRHFrQKBgQDHTgDFovtIw+d9+Fw5waeiiwsBGVAju8zs
        T6aiWwzOoBZUuZeRqjYlUMrk3Iqk04DwWrD3v/MZSCho7MLcYOKscYY6bSuz+5zH
        NmjnKvW469/sDrYsA4lc33tTgZKfxGKSRAfuDAGQgMlcWmM2NuovHCgWQmrTtpwl
        cryVzJVLIQKBgQCFEQfUpgqjlBxm1gH1h5uhCKVreFRYBvIf5R45X1HUf7KoZhML
        CjS/6LI3aBgPW0Up2xmw2vPCY3H6PqeOEZWbZnCz/KfsicsIERUm6IYVuEQUWLzZ
        v/RzquxKT2yiINMexH1N9BIdNiMlA8VQpOcYZCgQBSgsIIf5RKTQ/p/1sQKBgFnx
        kdefXdfQ0T/APZ6zDnwEU8sDKW926Vwb9g9/F6CIDovd1dEfB6B/fZEbFlacPKw7
        wXGNZqAaOGJhtu7Nqn44HWNwsTBgdLhSjbUFZi82A6/8U6o5TlxjXryo1QrVDccE
        fK+pK2uTM0xCXlOxJK5t/olNH/i7iGw+A213DkkBAoGBAMjSbSLCvDA1tMQBvncQ
        8rDiFfYtMxhoVxLj2QbAnrhKxEtoNLehwo9v2zTYCDN2Rd+nnq9hUnLXFhGrdmUc
        xt9e4k1hDLNbowSvJuaGLkhvYSmzGw4bOechdd/+41Bmqf0o+3lSU78JndkMM9rp
        qk+Bu2r9y0FrZW+31r1O3Fge
        -----END PRIVATE KEY-----
        """

    /// Discovery through a kubeconfig written for `server` with the given CA file and `tls-server-name`.
    static func discover(server: String, ca: String, serverName: String?) async throws -> [String] {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let caFile = try directory.write("ca.crt", ca)
        let kubeconfig = try directory.write(
            "kubeconfig",
            """
            apiVersion: v1
            kind: Config
            clusters:
              - name: test
                cluster:
                  server: \(server)
                  certificate-authority: \(caFile)
            \(serverName.map { "      tls-server-name: \($0)" } ?? "")
            contexts: [{name: test, context: {cluster: test, user: test}}]
            users: [{name: test, user: {token: t}}]
            current-context: test
            """
        )
        var configuration = try Kubeconfig.load(paths: [kubeconfig], environment: [:]).configuration()
        configuration.retry = .singleAttempt
        configuration.connectTimeout = .seconds(5)
        let client = try HTTPKubernetesClient(configuration: configuration, logger: CapturedLogs().logger())
        do {
            let served = try await client.servedResources(groupVersion: "apps.emqx.io/v2beta1")
            try await client.shutdown()
            return served
        } catch {
            try? await client.shutdown()
            throw error
        }
    }

    static func withServer<T>(_ body: (String) async throws -> T) async throws -> T {
        try await TLSVerificationTests.withTLSServer(certificate: serverCertificatePEM, key: serverKeyPEM, body)
    }

    @Test func theCertificateIsVerifiedForTheTLSServerName() async throws {
        let served = try await Self.withServer { url in
            try await Self.discover(server: url, ca: Self.caPEM, serverName: "kubernetes.test")
        }
        #expect(served == ["rebalances"])
    }

    @Test func withoutTheServerNameTheAddressDoesNotMatch() async throws {
        try await Self.withServer { url in
            let error = await #expect(throws: KubernetesError.self) {
                try await Self.discover(server: url, ca: Self.caPEM, serverName: nil)
            }
            #expect(error?.code == .untrusted)
            #expect(error?.isTransient == false)
            #expect(
                error?.description.contains("not valid for the name 127.0.0.1") == true,
                "\(String(describing: error))"
            )
            #expect(error?.description.contains("tls-server-name") == true)
        }
    }

    @Test func aWrongServerNameIsRefused() async throws {
        try await Self.withServer { url in
            let error = await #expect(throws: KubernetesError.self) {
                try await Self.discover(server: url, ca: Self.caPEM, serverName: "other.test")
            }
            #expect(error?.code == .untrusted)
            #expect(
                error?.description.contains("not valid for the name other.test") == true,
                "\(String(describing: error))"
            )
        }
    }

    @Test func aCertificateFromAnotherCAIsAFatalErrorNamingTheCAFile() async throws {
        try await Self.withServer { url in
            let error = await #expect(throws: KubernetesError.self) {
                try await Self.discover(server: url, ca: Self.otherCAPEM, serverName: "kubernetes.test")
            }
            #expect(error?.code == .untrusted)
            #expect(error?.isTransient == false)
            #expect(
                error?.description.contains("is not signed by the CA file /") == true,
                "\(String(describing: error))"
            )
            #expect(error?.description.contains("/ca.crt") == true)
            #expect(error?.description.contains("API server unavailable") == false)
        }
    }
}
