import NIOCore
import NIOHTTP1

/// The last handler of a kept connection: sends one exchange's request and hands it the answer, then tells the pool
/// the connection is free again (a keep-alive answer read to its end) or closes it.
final class KeptAliveHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    private var context: ChannelHandlerContext?
    private var answer: (any KeptAliveAnswer)?
    private var keepAlive = false
    /// Called on the event loop when an answer was read to its end and the connection can serve another.
    private let free: (any Channel, KeptAliveHandler) -> Void

    init(free: @escaping (any Channel, KeptAliveHandler) -> Void) {
        self.free = free
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    /// Sends `head` for `answer`. A connection that closed meanwhile fails it at once.
    func send(_ head: HTTPRequestHead, for answer: any KeptAliveAnswer) {
        guard let context, context.channel.isActive, self.answer == nil else {
            answer.lost(ChannelError.ioOnClosedChannel)
            return
        }
        self.answer = answer
        keepAlive = false
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard let answer else {
            // Bytes on an idle connection answer nothing that was asked: the connection cannot be trusted.
            context.close(promise: nil)
            return
        }
        switch unwrapInboundIn(data) {
        case .head(let head):
            keepAlive = head.isKeepAlive
            if !answer.head(head) { stop(context) }
        case .body(let part):
            if !answer.body(part) { stop(context) }
        case .end:
            self.answer = nil
            let (reusable, report) = answer.end()
            if reusable && keepAlive {
                free(context.channel, self)
            } else {
                context.close(promise: nil)
            }
            report()
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if let answer {
            self.answer = nil
            answer.lost(HTTPClientClosedError())
        }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let answer {
            self.answer = nil
            answer.lost(error)
        }
        context.close(promise: nil)
    }

    /// The exchange ended before its answer did: the rest is not read, so the connection cannot serve another.
    private func stop(_ context: ChannelHandlerContext) {
        answer = nil
        context.close(promise: nil)
    }
}

/// The server closed the connection before the answer was complete (worded as `TransportFailureText` expects).
struct HTTPClientClosedError: Error, CustomStringConvertible {
    var description: String { "remoteConnectionClosed" }
}
