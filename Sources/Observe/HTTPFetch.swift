import AsyncHTTPClient
import AutorebalancerCore
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL

/// Why an HTTP fetch of a source failed. Descriptions name the URL (never credentials) and what to check.
public enum SourceFetchError: Error, Sendable, Hashable, CustomStringConvertible {
    /// 401 or 403.
    case unauthorized(url: String, status: Int)
    /// Any other non-2xx answer, with the start of its body.
    case httpStatus(url: String, status: Int, body: String)
    /// No answer within the timeout.
    case timeout(url: String, seconds: Double)
    /// Connection refused, DNS, TLS handshake or certificate failure.
    case transport(url: String, reason: String)
    /// The body was larger than the limit.
    case bodyTooLarge(url: String, limit: Int)

    public var description: String {
        switch self {
        case .unauthorized(let url, let status):
            "\(url) answered \(status): check the credentials (API key and secret, or token) configured for this source"
        case .httpStatus(let url, let status, let body):
            "\(url) answered HTTP \(status)\(body.isEmpty ? "" : ": \(body)")"
        case .timeout(let url, let seconds):
            "\(url) did not answer within \(BalanceFormat.seconds(seconds)); check that it is reachable or raise the timeout"
        case .transport(let url, let reason):
            "could not reach \(url): \(reason)"
        case .bodyTooLarge(let url, let limit):
            "\(url) answered with a body over \(limit) bytes"
        }
    }
}

enum BalanceFormat {
    static func seconds(_ value: Double) -> String {
        value == value.rounded() ? "\(Int(value))s" : "\(value)s"
    }
}

/// TLS settings of a source: a custom CA bundle (PEM) to trust, in addition to or instead of the system roots.
public struct SourceTLS: Sendable, Hashable {
    /// PEM text of the CA certificates to trust; `nil` trusts the system roots.
    public var caPEM: String?
    /// Skip certificate verification. For tests against throw-away servers only.
    public var insecureSkipVerify: Bool

    public init(caPEM: String? = nil, insecureSkipVerify: Bool = false) {
        self.caPEM = caPEM
        self.insecureSkipVerify = insecureSkipVerify
    }

    /// The NIOSSL client configuration; throws when the PEM holds no certificate.
    public func configuration() throws -> TLSConfiguration {
        var configuration = TLSConfiguration.makeClientConfiguration()
        if let caPEM {
            let certificates = try NIOSSLCertificate.fromPEMBytes(Array(caPEM.utf8))
            configuration.trustRoots = .certificates(certificates)
        }
        if insecureSkipVerify { configuration.certificateVerification = .none }
        return configuration
    }
}

/// One HTTP exchange with a deadline that covers the whole body, not just the head.
struct HTTPFetch: Sendable {
    var client: HTTPClient
    var authorization: HTTPAuthorization
    var tls: TLSConfiguration?
    var timeout: Duration
    var bodyLimit: Int = 32 * 1024 * 1024

    struct Response: Sendable {
        var status: Int
        var headers: HTTPHeaders
        var body: Data
    }

    /// GETs `url` (or POSTs a form) and returns a 2xx answer; throws `SourceFetchError` otherwise.
    func fetch(
        _ url: String, form: String? = nil, accept: String? = nil, passThrough: Set<Int> = []
    ) async throws(SourceFetchError) -> Response {
        var request = HTTPClientRequest(url: url)
        request.tlsConfiguration = tls
        if let header = authorization.headerValue { request.headers.add(name: "Authorization", value: header) }
        if let accept { request.headers.add(name: "Accept", value: accept) }
        if let form {
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
            request.body = .bytes(ByteBuffer(string: form))
        }
        let seconds = Double(timeout.components.seconds) + Double(timeout.components.attoseconds) / 1e18
        let limit = bodyLimit
        let client = client
        let finalRequest = request
        let outcome: Result<Response, SourceFetchError> = await withTaskGroup(of: Result<Response, SourceFetchError>?.self) { group in
            group.addTask {
                do {
                    let response = try await client.execute(finalRequest, timeout: .nanoseconds(Int64(seconds * 1e9)))
                    let body = try await response.body.collect(upTo: limit)
                    return .success(Response(status: Int(response.status.code), headers: response.headers, body: Data(body.readableBytesView)))
                } catch let error as NIOTooManyBytesError {
                    _ = error
                    return .failure(.bodyTooLarge(url: url, limit: limit))
                } catch let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout || error == .connectTimeout {
                    return .failure(.timeout(url: url, seconds: seconds))
                } catch is CancellationError {
                    return nil
                } catch {
                    return .failure(.transport(url: url, reason: Self.describe(error)))
                }
            }
            group.addTask {
                // A little after the client's own deadline: when the client gives up it says why (a TLS failure,
                // a refused connection), which beats a bare timeout. This guard only bounds a body that never ends.
                try? await Task.sleep(for: timeout + .milliseconds(500))
                return Task.isCancelled ? nil : .failure(.timeout(url: url, seconds: seconds))
            }
            var first: Result<Response, SourceFetchError>?
            for await result in group {
                if let result { first = result; break }
            }
            group.cancelAll()
            return first ?? .failure(.timeout(url: url, seconds: seconds))
        }
        let response = try outcome.get()
        if passThrough.contains(response.status) { return response }
        switch response.status {
        case 200..<300:
            return response
        case 401, 403:
            throw .unauthorized(url: url, status: response.status)
        default:
            let text = String(decoding: response.body.prefix(200), as: UTF8.self)
                .trimmingCharacters(in: .whitespacesAndNewlines)
            throw .httpStatus(url: url, status: response.status, body: text)
        }
    }

    static func describe(_ error: any Error) -> String {
        if let error = error as? NIOSSLError { return "TLS failure (\(error)); check the CA configured for this source" }
        if let error = error as? BoringSSLError { return "TLS failure (\(error)); check the CA configured for this source" }
        if let error = error as? NIOSSLExtraError { return "TLS failure (\(error)); check the CA and the server name" }
        let text = String(describing: error)
        if text.localizedCaseInsensitiveContains("certificate") || text.localizedCaseInsensitiveContains("handshake") {
            return "TLS failure (\(text)); check the CA configured for this source"
        }
        return TransportFailureText.describe(error)
    }
}

/// Percent-encoding for query strings and forms (RFC 3986 unreserved characters kept).
enum QueryEncoding {
    static let unreserved: CharacterSet = {
        var set = CharacterSet.alphanumerics.intersection(CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"))
        set.insert(charactersIn: "-._~")
        return set
    }()

    static func encode(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: unreserved) ?? text
    }

    static func form(_ pairs: [(String, String)]) -> String {
        pairs.map { "\(encode($0.0))=\(encode($0.1))" }.joined(separator: "&")
    }
}
