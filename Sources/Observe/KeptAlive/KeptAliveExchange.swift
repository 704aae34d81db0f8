import Foundation
import NIOCore
import NIOHTTP1
import Synchronization

/// What the connection handler tells the exchange it serves, on the connection's event loop.
protocol KeptAliveAnswer: AnyObject {
    /// `false` once the exchange has ended (its reader refused the head, an error status): the rest is not read.
    func head(_ head: HTTPResponseHead) -> Bool
    /// `false` once the exchange has ended (the reader refused the part, the error preview is full).
    func body(_ part: ByteBuffer) -> Bool
    /// The answer is complete: whether the exchange ended well, so the connection may serve another, and the report
    /// of its outcome, which the handler makes once the connection is settled (a caller woken by it finds the
    /// connection free for its next exchange).
    func end() -> (reusable: Bool, report: () -> Void)
    /// The connection failed or closed before the answer was complete.
    func lost(_ error: any Error)
}

/// One GET read by a ``StreamedBodyReader`` as it arrives. It ends exactly once: answered, failed, expired at the
/// batch's deadline, or cancelled; whichever comes first reports, the others find it ended.
final class KeptAliveExchange<Reader: StreamedBodyReader>: KeptAliveAnswer, @unchecked Sendable {
    let target: ScrapeTarget
    let shownURL: String
    private let fetch: HTTPFetch
    /// Where a retry is started.
    private let connections: KeptAliveConnections
    private let report: @Sendable (Swift.Result<Reader.Result, SourceFetchError>) -> Void

    // Read and written only on the event loop of the connection the exchange runs on, one call at a time (the
    // connection handler's callbacks); a retry moves it to another connection only after the first let it go.
    private var reader: Reader
    private var status = 0
    /// The start of a non-2xx body, for the message; `nil` for a 2xx answer.
    private var preview: Data?
    /// Whether any of the answer arrived: a kept connection the server closed before answering is retried once.
    private var answered = false

    private struct Shared {
        var ended = false
        /// The connection it runs on, closed when the exchange expires or is cancelled.
        var channel: (any Channel)?
        /// It runs on a kept connection (not a new one) and has not been retried.
        var mayRetry = false
    }
    private let shared = Mutex(Shared())

    init(
        target: ScrapeTarget,
        shownURL: String,
        fetch: HTTPFetch,
        connections: KeptAliveConnections,
        reader: Reader,
        report: @escaping @Sendable (Swift.Result<Reader.Result, SourceFetchError>) -> Void
    ) {
        self.target = target
        self.shownURL = shownURL
        self.fetch = fetch
        self.connections = connections
        self.reader = reader
        self.report = report
    }

    /// The source's timeout, which also bounds making a connection.
    var fetchTimeout: Duration { fetch.timeout }

    /// It is about to be sent on `channel`; `false` when it has ended already (expired while connecting).
    func runs(on channel: any Channel, kept: Bool) -> Bool {
        shared.withLock { state in
            guard !state.ended else { return false }
            state.channel = channel
            state.mayRetry = kept
            return true
        }
    }

    /// Whether a failure before any answer should be retried on a new connection, which it then may not be again.
    private func takeRetry() -> Bool {
        guard !answered else { return false }
        return shared.withLock { state in
            guard !state.ended, state.mayRetry else { return false }
            state.mayRetry = false
            state.channel = nil
            return true
        }
    }

    /// Ends it with `result` unless it has ended; closes its connection when asked (an answer left half-read).
    func end(_ result: Swift.Result<Reader.Result, SourceFetchError>, closing: Bool = false) {
        let channel = shared.withLock { state -> (any Channel)?? in
            guard !state.ended else { return nil }
            state.ended = true
            return .some(state.channel)
        }
        guard let channel else { return }
        if closing { channel?.close(promise: nil) }
        report(result)
    }

    /// The batch's deadline passed: no answer in time.
    func expire() {
        end(.failure(.timeout(url: shownURL, seconds: fetch.timeout.seconds)), closing: true)
    }

    /// The connection could not be made.
    func notConnected(_ error: any Error) {
        end(.failure(fetch.failure(error, url: shownURL)))
    }

    // MARK: KeptAliveAnswer

    func head(_ head: HTTPResponseHead) -> Bool {
        answered = true
        status = Int(head.status.code)
        guard (200..<300).contains(status) else {
            preview = Data()
            return true
        }
        do {
            try reader.head(HTTPFetch.Head(status: status, headers: head.headers))
            return true
        } catch {
            end(.failure(error), closing: true)
            return false
        }
    }

    func body(_ part: ByteBuffer) -> Bool {
        answered = true
        if var preview {
            let more = HTTPFetch.extend(&preview, with: part)
            self.preview = preview
            // An error body may be endless: the preview is all that is read of it.
            guard more else {
                end(.failure(HTTPFetch.statusError(status, url: shownURL, preview: preview)), closing: true)
                return false
            }
            return true
        }
        do {
            try reader.read(part)
            return true
        } catch {
            end(.failure(error), closing: true)
            return false
        }
    }

    func end() -> (reusable: Bool, report: () -> Void) {
        let result: Swift.Result<Reader.Result, SourceFetchError>
        if let preview {
            result = .failure(HTTPFetch.statusError(status, url: shownURL, preview: preview))
        } else {
            do {
                result = .success(try reader.finish())
            } catch {
                result = .failure(error)
            }
        }
        let reusable = if case .success = result { true } else { false }
        return (reusable, { self.end(result) })
    }

    func lost(_ error: any Error) {
        // A kept connection the server closed while it was idle (its keep-alive timeout) fails before any answer:
        // the request was not served, so it is sent once more on a new connection.
        if takeRetry() {
            connections.start(self, reusing: false)
            return
        }
        end(.failure(fetch.failure(error, url: shownURL)), closing: true)
    }
}
