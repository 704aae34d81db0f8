import Foundation
import NIOCore
import NIOHTTP1

/// Where one GET of ``KeptAliveConnections`` goes: the connection it needs and the request head it sends, made from
/// its URL once per exchange.
struct ScrapeTarget: Sendable {
    /// Connections are kept per scheme, host and port: a kept connection serves every path on them.
    struct Key: Hashable, Sendable {
        var secure: Bool
        var host: String
        var port: Int
    }

    var key: Key
    var head: HTTPRequestHead

    /// A failure with the reason when `url` is not an `http` or `https` URL with a host and a port in range.
    static func make(_ url: String, headers: HTTPHeaders) -> Swift.Result<ScrapeTarget, ScrapeTargetError> {
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased() else {
            return .failure(ScrapeTargetError(reason: "not a URL"))
        }
        guard scheme == "http" || scheme == "https" else {
            return .failure(ScrapeTargetError(reason: "the scheme \(scheme) is not http or https"))
        }
        guard var host = components.host, !host.isEmpty else {
            return .failure(ScrapeTargetError(reason: "the URL names no host"))
        }
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        let secure = scheme == "https"
        let port = components.port ?? (secure ? 443 : 80)
        guard (1...65_535).contains(port) else {
            return .failure(ScrapeTargetError(reason: "the port \(port) is not between 1 and 65535"))
        }
        let path = components.percentEncodedPath.isEmpty ? "/" : components.percentEncodedPath
        let uri = components.percentEncodedQuery.map { "\(path)?\($0)" } ?? path
        var requestHeaders = HTTPHeaders()
        // The authority as written, without user-info; the default port is left out, as browsers and curl do.
        let shownHost = host.contains(":") ? "[\(host)]" : host
        requestHeaders.add(name: "Host", value: components.port == nil ? shownHost : "\(shownHost):\(port)")
        requestHeaders.add(contentsOf: headers)
        return .success(
            ScrapeTarget(
                key: Key(secure: secure, host: host, port: port),
                head: HTTPRequestHead(version: .http1_1, method: .GET, uri: uri, headers: requestHeaders)
            )
        )
    }
}

struct ScrapeTargetError: Error {
    var reason: String
}
