import AsyncHTTPClient
import AutorebalancerCore
import Foundation
import NIOCore
import NIOHTTP1
import Synchronization

/// Reads a 2xx answer's body part by part on the HTTP client's event loop, as the parts arrive.
protocol StreamedBodyReader {
    associatedtype Result: Sendable
    /// The head of a 2xx answer, before any of its body; may refuse it (a Content-Type that is not what it reads).
    mutating func head(_ head: HTTPFetch.Head) throws(SourceFetchError)
    mutating func read(_ part: ByteBuffer) throws(SourceFetchError)
    /// The whole body was read.
    mutating func finish() throws(SourceFetchError) -> Result
}

extension HTTPFetch {
    /// An exchange of ``HTTPFetch/start(_:shownURL:accept:reader:)`` under way.
    struct StreamedExchange<Result: Sendable>: Sendable {
        fileprivate let started: Swift.Result<HTTPClient.Task<Result>, SourceFetchError>
        fileprivate let fetch: HTTPFetch
        fileprivate let url: String

        func cancel() {
            if case .success(let task) = started { task.cancel() }
        }

        /// The outcomes of `exchanges`, in their order, once every one has ended. The caller wakes once for all of
        /// them, not once per exchange (a cycle ends thousands of scrapes); cancelling it cancels every exchange.
        static func outcomes(of exchanges: [Self]) async -> [Swift.Result<Result, SourceFetchError>] {
            let gathering = Gathering<Result>(count: exchanges.count)
            await withTaskCancellationHandler {
                await withCheckedContinuation { continuation in
                    gathering.start(continuation)
                    for (index, exchange) in exchanges.enumerated() {
                        switch exchange.started {
                        case .failure(let error):
                            gathering.record(.failure(error), at: index)
                        case .success(let task):
                            task.futureResult.whenComplete { outcome in
                                gathering.record(
                                    outcome.mapError { exchange.fetch.failure($0, url: exchange.url) },
                                    at: index
                                )
                            }
                        }
                    }
                    gathering.started()
                }
            } onCancel: {
                for exchange in exchanges { exchange.cancel() }
            }
            return gathering.results
        }
    }

    /// Starts a GET of `url` whose 2xx answer `reader` reads on the client's event loop, part by part as it arrives:
    /// no task of the caller wakes for each part (``exchange(_:form:accept:passThrough:read:)`` wakes it for every
    /// one), and many exchanges can be started from one task and awaited together (``StreamedExchange/outcomes(of:)``).
    /// For answers read thousands of times a cycle (every node's stats). The deadline covers the whole exchange, the
    /// body included; a non-2xx answer is read only up to a short preview, as
    /// ``exchange(_:form:accept:passThrough:read:)`` does; a reader that throws stops the reading at once. `shownURL`
    /// is `url` as errors show it (``SafeText/redacted(_:)``), made once by the caller, who shows it too.
    func start<Reader: StreamedBodyReader>(
        _ url: String,
        shownURL: String,
        accept: String? = nil,
        reader: Reader
    ) -> StreamedExchange<Reader.Result> {
        let request: HTTPClient.Request
        do {
            request = try HTTPClient.Request(
                url: url,
                method: .GET,
                headers: headers(accept: accept),
                tlsConfiguration: tls
            )
        } catch {
            return StreamedExchange(
                started: .failure(.transport(url: shownURL, reason: SafeText.forLog(Self.describe(error)))),
                fetch: self,
                url: shownURL
            )
        }
        let task = client.execute(
            request: request,
            delegate: StreamedAnswer(reader: reader, url: shownURL),
            deadline: .now() + TimeAmount(timeout)
        )
        return StreamedExchange(started: .success(task), fetch: self, url: shownURL)
    }
}

/// The delegate of ``HTTPFetch/start(_:shownURL:accept:reader:)``. The client calls it on one event loop, one call at a
/// time, so its state needs no lock.
private final class StreamedAnswer<Reader: StreamedBodyReader>: HTTPClientResponseDelegate, @unchecked Sendable {
    typealias Response = Reader.Result

    private var reader: Reader
    private let url: String
    private var status = 0
    /// The start of a non-2xx body, for the message; `nil` for a 2xx answer.
    private var preview: Data?

    init(reader: Reader, url: String) {
        self.reader = reader
        self.url = url
    }

    func didReceiveHead(task: HTTPClient.Task<Response>, _ head: HTTPResponseHead) -> EventLoopFuture<Void> {
        status = Int(head.status.code)
        guard (200..<300).contains(status) else {
            preview = Data()
            return task.eventLoop.makeSucceededVoidFuture()
        }
        do {
            try reader.head(HTTPFetch.Head(status: status, headers: head.headers))
        } catch {
            return task.eventLoop.makeFailedFuture(error)
        }
        return task.eventLoop.makeSucceededVoidFuture()
    }

    func didReceiveBodyPart(task: HTTPClient.Task<Response>, _ part: ByteBuffer) -> EventLoopFuture<Void> {
        if var preview {
            let more = HTTPFetch.extend(&preview, with: part)
            self.preview = preview
            // An error body may be endless: the preview is all that is read of it.
            guard more else {
                return task.eventLoop.makeFailedFuture(HTTPFetch.statusError(status, url: url, preview: preview))
            }
            return task.eventLoop.makeSucceededVoidFuture()
        }
        do {
            try reader.read(part)
        } catch {
            return task.eventLoop.makeFailedFuture(error)
        }
        return task.eventLoop.makeSucceededVoidFuture()
    }

    func didFinishRequest(task: HTTPClient.Task<Response>) throws -> Response {
        if let preview { throw HTTPFetch.statusError(status, url: url, preview: preview) }
        return try reader.finish()
    }
}

/// The outcomes ``HTTPFetch/StreamedExchange/outcomes(of:)`` gathers, from the event loops the exchanges end on.
private final class Gathering<Result: Sendable>: Sendable {
    private struct State {
        var results: [Swift.Result<Result, SourceFetchError>?]
        /// One more than the exchanges still running until every callback is set, so the last exchange to end
        /// cannot resume the caller while callbacks are still being set.
        var waiting: Int
        var continuation: CheckedContinuation<Void, Never>?
    }

    private let state: Mutex<State>

    init(count: Int) {
        state = Mutex(State(results: Array(repeating: nil, count: count), waiting: count + 1))
    }

    func start(_ continuation: CheckedContinuation<Void, Never>) {
        state.withLock { $0.continuation = continuation }
    }

    func record(_ result: Swift.Result<Result, SourceFetchError>, at index: Int) {
        state.withLock { $0.results[index] = result }
        countDown()
    }

    /// Every callback is set.
    func started() {
        countDown()
    }

    private func countDown() {
        let finished = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.waiting -= 1
            guard state.waiting == 0 else { return nil }
            defer { state.continuation = nil }
            return state.continuation
        }
        finished?.resume()
    }

    /// Every exchange has ended once the caller is resumed, so every slot is filled; the placeholder only keeps the
    /// results in line with the exchanges.
    var results: [Swift.Result<Result, SourceFetchError>] {
        state.withLock { $0.results.map { $0 ?? .failure(.transport(url: "", reason: "ended without an outcome")) } }
    }
}
