import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Synchronization

/// Keep-alive HTTP/1.1 GETs of many small answers, every node's stats every cycle, on NIO directly.
///
/// One source scrapes thousands of nodes a cycle, and a general client's work around each request (a request object
/// parsed from its URL, a task, a pool state machine, a deadline timer, a promise per body part) cost more than the
/// scrape itself. Here a connection is kept per scheme, host and port; an exchange's body is read as it arrives on
/// the connection's event loop by a ``StreamedBodyReader``; a batch of exchanges shares one deadline and wakes its
/// caller once. A kept connection that the server closed while idle is found before any answer and the request is
/// sent once more on a new one. A connection left idle past ``idleTimeout`` is closed the next time the source
/// scrapes (there is no timer per connection; the node closes an idle one on its side too), and every idle one when
/// the source that owns them goes (a reload, a cluster no longer watched).
final class KeptAliveConnections: Sendable {
    /// As long as a connection may stay unused before it is closed (servers close theirs after about a minute too).
    static let idleTimeout = TimeAmount.seconds(60)

    private struct Kept: Sendable {
        var channel: any Channel
        var handler: NIOLoopBound<KeptAliveHandler>
        var freedAt: NIODeadline
    }

    private struct Idle {
        var connections: [ScrapeTarget.Key: [Kept]] = [:]
        var sweptAt = NIODeadline.now()
    }

    private let group: any EventLoopGroup
    private let tls: NIOSSLContext?
    private let idle = Mutex(Idle())

    /// `tls` is used for `https` targets; without it they fail with the reason.
    init(group: any EventLoopGroup, tls: NIOSSLContext?) {
        self.group = group
        self.tls = tls
    }

    deinit {
        for kept in idle.withLock({ Array($0.connections.values.joined()) }) { kept.channel.close(promise: nil) }
    }

    /// GETs every URL with `fetch`'s headers and timeout, each answer read by its reader; the outcomes in order.
    /// The deadline covers each whole exchange, body included; cancelling the caller ends every exchange.
    func get<Reader: StreamedBodyReader>(
        _ requests: [(url: String, shownURL: String, reader: Reader)],
        accept: String,
        fetch: HTTPFetch
    ) async -> [Swift.Result<Reader.Result, SourceFetchError>] {
        let gathering = Gathering<Reader.Result>(count: requests.count)
        let headers = fetch.headers(accept: accept)
        var exchanges: [KeptAliveExchange<Reader>] = []
        exchanges.reserveCapacity(requests.count)
        for (index, request) in requests.enumerated() {
            switch ScrapeTarget.make(request.url, headers: headers) {
            case .failure(let problem):
                gathering.record(.failure(.transport(url: request.shownURL, reason: problem.reason)), at: index)
            case .success(let target):
                let exchange = KeptAliveExchange(
                    target: target,
                    shownURL: request.shownURL,
                    fetch: fetch,
                    connections: self,
                    reader: request.reader
                ) { gathering.record($0, at: index) }
                exchanges.append(exchange)
            }
        }
        let started = exchanges
        let deadline = group.next().scheduleTask(in: TimeAmount(fetch.timeout)) {
            for exchange in started { exchange.expire() }
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                gathering.start(continuation)
                for exchange in started { start(exchange, reusing: true) }
                gathering.started()
            }
        } onCancel: {
            for exchange in started { exchange.expire() }
        }
        deadline.cancel()
        return gathering.results
    }

    /// Sends `exchange` on a kept connection to its target when there is one and `reusing`, else on a new one.
    func start<Reader: StreamedBodyReader>(_ exchange: KeptAliveExchange<Reader>, reusing: Bool) {
        let key = exchange.target.key
        if reusing, let kept = takeIdle(key) {
            kept.channel.eventLoop.execute {
                guard exchange.runs(on: kept.channel, kept: true) else {
                    self.free(kept.channel, kept.handler.value, key: key)
                    return
                }
                kept.handler.value.send(exchange.target.head, for: exchange)
            }
            return
        }
        guard !key.secure || tls != nil else {
            exchange.notConnected(KeptAliveTLSMissing())
            return
        }
        let tls = tls
        let bootstrap = ClientBootstrap(group: group)
            .connectTimeout(TimeAmount(exchange.fetchTimeout))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { [weak self] channel in
                channel.eventLoop.makeCompletedFuture {
                    let pipeline = channel.pipeline.syncOperations
                    if key.secure, let tls {
                        // Server names are sent and checked for host names; an IP address is checked against the
                        // certificate's IP entries instead.
                        let isAddress = (try? SocketAddress(ipAddress: key.host, port: 0)) != nil
                        try pipeline.addHandler(
                            NIOSSLClientHandler(context: tls, serverHostname: isAddress ? nil : key.host)
                        )
                    }
                    try pipeline.addHTTPClientHandlers()
                    try pipeline.addHandler(
                        KeptAliveHandler { [weak self] channel, handler in
                            // A connection freed after its source went has nobody left to serve.
                            guard let self else { return channel.close(promise: nil) }
                            self.free(channel, handler, key: key)
                        }
                    )
                }
            }
        bootstrap.connect(host: key.host, port: key.port).whenComplete { result in
            switch result {
            case .failure(let error):
                exchange.notConnected(error)
            case .success(let channel):
                // On the connection's event loop.
                guard exchange.runs(on: channel, kept: false) else {
                    channel.close(promise: nil)
                    return
                }
                do {
                    try channel.pipeline.syncOperations.handler(type: KeptAliveHandler.self)
                        .send(exchange.target.head, for: exchange)
                } catch {
                    exchange.lost(error)
                }
            }
        }
    }

    /// A connection whose answer was read to its end waits for the next exchange to its target; on its event loop.
    private func free(_ channel: any Channel, _ handler: KeptAliveHandler, key: ScrapeTarget.Key) {
        let kept = Kept(
            channel: channel,
            handler: NIOLoopBound(handler, eventLoop: channel.eventLoop),
            freedAt: .now()
        )
        idle.withLock { $0.connections[key, default: []].append(kept) }
    }

    /// A kept connection to `key` that is still open; connections idle past ``idleTimeout`` are closed on the way
    /// (looked for at most every few seconds).
    private func takeIdle(_ key: ScrapeTarget.Key) -> Kept? {
        let now = NIODeadline.now()
        let (found, stale) = idle.withLock { idle -> (Kept?, [Kept]) in
            var stale: [Kept] = []
            if now - idle.sweptAt > .seconds(5) {
                idle.sweptAt = now
                for (target, kept) in idle.connections {
                    let (fresh, old) = kept.reduce(into: ([Kept](), [Kept]())) { split, one in
                        if one.channel.isActive && now - one.freedAt < Self.idleTimeout {
                            split.0.append(one)
                        } else {
                            split.1.append(one)
                        }
                    }
                    idle.connections[target] = fresh.isEmpty ? nil : fresh
                    stale += old
                }
            }
            while let kept = idle.connections[key]?.popLast() {
                if idle.connections[key]?.isEmpty == true { idle.connections[key] = nil }
                if kept.channel.isActive { return (kept, stale) }
            }
            return (nil, stale)
        }
        for kept in stale { kept.channel.close(promise: nil) }
        return found
    }
}

/// An `https` target of a source made without TLS settings.
struct KeptAliveTLSMissing: Error, CustomStringConvertible {
    var description: String { "https is not set up for this source (no TLS context); check its tls settings" }
}
