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
    /// A 2xx answer whose body is not what the source reads (an HTML page, a broken exposition line).
    case invalidBody(url: String, reason: String)

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
            "\(url) answered with a body over \(limit) bytes; nothing of it was used"
        case .invalidBody(let url, let reason):
            "\(url) answered a body that cannot be used: \(reason)"
        }
    }
}

enum BalanceFormat {
    static func seconds(_ value: Double) -> String {
        "\(BalanceEvaluation.format(value))s"
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
///
/// The body is read by the caller as it arrives (``exchange(_:form:accept:passThrough:read:)``), or collected up to
/// ``bodyLimit`` (``fetch(_:form:accept:passThrough:)``). A non-2xx answer is read only up to a short preview, which is
/// redacted and escaped before it can reach a log; URLs in errors are redacted too.
struct HTTPFetch: Sendable {
    var client: HTTPClient
    var authorization: HTTPAuthorization
    var tls: TLSConfiguration?
    var timeout: Duration
    /// The most bytes a collected body may have.
    var bodyLimit: Int = 32 * 1024 * 1024

    /// The status line and headers of an answer.
    struct Head: Sendable {
        var status: Int
        var headers: HTTPHeaders
    }

    struct Response: Sendable {
        var status: Int
        var headers: HTTPHeaders
        var body: Data
    }

    /// How much of an error body is kept for the message.
    static let previewLength = 200

    /// GETs `url` (or POSTs a form) and returns a 2xx answer with its body collected; throws `SourceFetchError`
    /// otherwise.
    func fetch(
        _ url: String,
        form: String? = nil,
        accept: String? = nil,
        passThrough: Set<Int> = []
    ) async throws(SourceFetchError) -> Response {
        let limit = bodyLimit
        return try await exchange(url, form: form, accept: accept, passThrough: passThrough) { head, body in
            let bytes = try await body.collect(upTo: limit)
            return Response(status: head.status, headers: head.headers, body: Data(bytes.readableBytesView))
        }
    }

    /// GETs `url` (or POSTs a form) and hands a 2xx answer (or a `passThrough` status) to `read`, which consumes the
    /// body as it streams in, within the same deadline. `read` may throw `SourceFetchError` (e.g. `invalidBody`).
    func exchange<Result: Sendable>(
        _ url: String,
        form: String? = nil,
        accept: String? = nil,
        passThrough: Set<Int> = [],
        read: @escaping @Sendable (Head, HTTPClientResponse.Body) async throws -> Result
    ) async throws(SourceFetchError) -> Result {
        var request = HTTPClientRequest(url: url)
        request.tlsConfiguration = tls
        request.headers = headers(accept: accept)
        if let form {
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
            request.body = .bytes(ByteBuffer(string: form))
        }
        let seconds = timeout.seconds
        let shownURL = SafeText.redacted(url)
        let client = client
        let finalRequest = request
        let outcome: Swift.Result<Result, SourceFetchError> = await withTaskGroup(
            of: Swift.Result<Result, SourceFetchError>?.self
        ) { group in
            group.addTask {
                do {
                    let response = try await client.execute(finalRequest, timeout: TimeAmount(timeout))
                    let head = Head(status: Int(response.status.code), headers: response.headers)
                    if !(200..<300).contains(head.status), !passThrough.contains(head.status) {
                        // Only a preview of an error body is read: it is for the message, and may be endless.
                        var preview = Data()
                        for try await chunk in response.body {
                            guard Self.extend(&preview, with: chunk) else { break }
                        }
                        return .failure(Self.statusError(head.status, url: shownURL, preview: preview))
                    }
                    return .success(try await read(head, response.body))
                } catch is CancellationError {
                    return nil
                } catch {
                    return .failure(failure(error, url: shownURL))
                }
            }
            group.addTask {
                // A little after the client's own deadline: when the client gives up it says why (a TLS failure,
                // a refused connection), which beats a bare timeout. This guard bounds a body that never ends or
                // trickles in byte by byte.
                try? await Task.sleep(for: timeout + .milliseconds(500))
                return Task.isCancelled ? nil : .failure(.timeout(url: shownURL, seconds: seconds))
            }
            var first: Swift.Result<Result, SourceFetchError>?
            for await result in group {
                if let result {
                    first = result
                    break
                }
            }
            group.cancelAll()
            return first ?? .failure(.timeout(url: shownURL, seconds: seconds))
        }
        return try outcome.get()
    }

    /// The headers every request of this fetch carries: its authorization, and `Accept` when given.
    func headers(accept: String?) -> HTTPHeaders {
        var headers = HTTPHeaders()
        if let header = authorization.headerValue { headers.add(name: "Authorization", value: header) }
        if let accept { headers.add(name: "Accept", value: accept) }
        return headers
    }

    /// Adds the start of `part` to the preview of an error body; `false` once the preview is full and the rest of the
    /// body (which may be endless) is not to be read.
    static func extend(_ preview: inout Data, with part: ByteBuffer) -> Bool {
        preview.append(contentsOf: part.readableBytesView.prefix(previewLength - preview.count))
        return preview.count < previewLength
    }

    /// What an error thrown during an exchange means for the source; `url` is already redacted.
    func failure(_ error: any Error, url: String) -> SourceFetchError {
        switch error {
        case let error as SourceFetchError:
            return error
        case is NIOTooManyBytesError:
            return .bodyTooLarge(url: url, limit: bodyLimit)
        case let error as HTTPClientError
        where error == .deadlineExceeded || error == .readTimeout || error == .connectTimeout:
            return .timeout(url: url, seconds: timeout.seconds)
        case let error as HTTPClientError where error == .cancelled:
            // Cancelled by the caller (the cycle's budget ran out): for this exchange, no answer in time.
            return .timeout(url: url, seconds: timeout.seconds)
        default:
            return .transport(url: url, reason: SafeText.forLog(Self.describe(error)))
        }
    }

    static func statusError(_ status: Int, url: String, preview: Data) -> SourceFetchError {
        switch status {
        case 401, 403:
            return .unauthorized(url: url, status: status)
        default:
            let text = String(decoding: preview, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            return .httpStatus(url: url, status: status, body: SafeText.forLog(text))
        }
    }

    static func describe(_ error: any Error) -> String {
        if let error = error as? NIOSSLError {
            return "TLS failure (\(error)); check the CA configured for this source"
        }
        if let error = error as? BoringSSLError {
            return "TLS failure (\(error)); check the CA configured for this source"
        }
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
        var set = CharacterSet.alphanumerics.intersection(
            CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
        )
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
