import CAMQP
import Foundation

/// One connection to a broker with one channel (publisher confirms on), over rabbitmq-c. Every call blocks: it
/// belongs to the one thread of an ``AMQPClient`` and is never used from anywhere else (rabbitmq-c connections are
/// not thread-safe).
final class AMQPConnection {
    /// A message or a publisher confirm, as ``next(timeout:)`` reads them.
    enum Event {
        case delivery(body: [UInt8], routingKey: String, tag: UInt64, redelivered: Bool)
        /// The broker has (`ok`) or has not taken the published messages up to `tag` (or only `tag`).
        case confirm(tag: UInt64, multiple: Bool, ok: Bool)
        case timeout
        case other
    }

    static let channel: amqp_channel_t = 1
    /// Questions (a passive declare) go on a channel of their own: a delivery or a confirm that arrives on the
    /// first channel meanwhile is kept for ``next(timeout:)``, and a refused question closes only this channel.
    static let questions: amqp_channel_t = 2
    private static let replySuccess: Int32 = 200
    private let state: amqp_connection_state_t
    private let where_: String
    /// Publisher confirms count the channel's messages from 1.
    private var lastPublishTag: UInt64 = 0

    /// Connects, logs in and opens a channel in confirm mode. - Throws: ``AMQPError``.
    ///
    /// Every stored property is set before the first `throw`, so a failed init runs `deinit`, which destroys the
    /// connection state: no error path destroys it itself (that would free it twice).
    init(url: AMQPURL, tls: AMQPTLS, heartbeatSeconds: Int, connectTimeout: Duration) throws {
        guard let state = amqp_new_connection() else { throw AMQPError(.notConnected, "rabbitmq-c could not allocate a connection") }
        self.state = state
        self.where_ = url.description
        let socket: OpaquePointer? = url.isTLS ? amqp_ssl_socket_new(state) : amqp_tcp_socket_new(state)
        guard let socket else { throw AMQPError(.notConnected, "rabbitmq-c could not create a socket") }
        if url.isTLS {
            if let caFile = tls.caFile {
                let status = amqp_ssl_socket_set_cacert(socket, caFile)
                if status != AMQP_STATUS_OK.rawValue {
                    throw AMQPError(.refused, "cannot read the CA file \(caFile): \(Self.describe(status))")
                }
            }
            amqp_ssl_socket_set_verify_peer(socket, tls.verify ? 1 : 0)
            amqp_ssl_socket_set_verify_hostname(socket, tls.verify ? 1 : 0)
        }
        var timeout = timeval(tv_sec: Int(connectTimeout.components.seconds), tv_usec: 0)
        let opened = amqp_socket_open_noblock(socket, url.host, Int32(url.port), &timeout)
        guard opened == AMQP_STATUS_OK.rawValue else {
            throw AMQPError(.notConnected, "cannot connect to \(url): \(Self.describe(opened))")
        }
        try check(tesp_amqp_login_plain(state, url.virtualHost, 131_072, Int32(heartbeatSeconds), url.user, url.password), "login")
        amqp_channel_open(state, Self.channel)
        try check(amqp_get_rpc_reply(state), "opening a channel")
        amqp_confirm_select(state, Self.channel)
        try check(amqp_get_rpc_reply(state), "turning on publisher confirms")
        amqp_channel_open(state, Self.questions)
        try check(amqp_get_rpc_reply(state), "opening a channel")
    }

    deinit {
        amqp_destroy_connection(state)
    }

    /// Closes the channel and the connection politely (the broker then requeues unacknowledged messages at once).
    func close() {
        _ = amqp_channel_close(state, Self.channel, Self.replySuccess)
        _ = amqp_connection_close(state, Self.replySuccess)
    }

    // MARK: Topology

    func declareExchange(_ name: String, type: String, durable: Bool) throws {
        name.withCString { name in
            type.withCString { type in
                _ = amqp_exchange_declare(
                    state, Self.channel, amqp_cstring_bytes(name), amqp_cstring_bytes(type), 0, durable ? 1 : 0, 0, 0, Self.noArguments)
            }
        }
        try check(amqp_get_rpc_reply(state), "declaring the exchange '\(name)'")
    }

    /// Declares a queue as kombu does (durable, not exclusive, not auto-deleted, no arguments), so that either side
    /// may declare it first, and binds it to `exchange` with its own name as the routing key.
    func declareQueue(_ name: String, exchange: String, durable: Bool) throws {
        name.withCString { name in
            _ = amqp_queue_declare(state, Self.channel, amqp_cstring_bytes(name), 0, durable ? 1 : 0, 0, 0, Self.noArguments)
        }
        try check(amqp_get_rpc_reply(state), "declaring the queue '\(name)'")
        name.withCString { name in
            exchange.withCString { exchange in
                _ = amqp_queue_bind(state, Self.channel, amqp_cstring_bytes(name), amqp_cstring_bytes(exchange), amqp_cstring_bytes(name), Self.noArguments)
            }
        }
        try check(amqp_get_rpc_reply(state), "binding the queue '\(name)'")
    }

    /// How many messages wait in a queue and how many consumers take them (a passive declare).
    func inspect(_ name: String) throws -> AMQPQueueInfo {
        let answer = name.withCString { name in
            amqp_queue_declare(state, Self.questions, amqp_cstring_bytes(name), 1, 0, 0, 0, Self.noArguments)
        }
        try check(amqp_get_rpc_reply(state), "asking about the queue '\(name)'")
        guard let answer else { throw AMQPError(.connectionLost, "asking about the queue '\(name)' on \(where_): no answer") }
        return AMQPQueueInfo(messages: Int(answer.pointee.message_count), consumers: Int(answer.pointee.consumer_count))
    }

    /// Receives the queue's messages, at most `prefetch` unacknowledged at once.
    func consume(_ queue: String, prefetch: UInt16) throws {
        _ = amqp_basic_qos(state, Self.channel, 0, prefetch, 0)
        try check(amqp_get_rpc_reply(state), "setting the prefetch count")
        queue.withCString { queue in
            _ = amqp_basic_consume(state, Self.channel, amqp_cstring_bytes(queue), amqp_bytes_t(len: 0, bytes: nil), 0, 0, 0, Self.noArguments)
        }
        try check(amqp_get_rpc_reply(state), "consuming the queue '\(queue)'")
    }

    // MARK: Messages

    /// Sends a persistent JSON message. - Returns: its tag, which a later ``Event/confirm(tag:multiple:ok:)`` names.
    func publish(exchange: String, routingKey: String, body: [UInt8]) throws -> UInt64 {
        let status = body.withUnsafeBytes { bytes in
            tesp_amqp_publish_json(state, Self.channel, exchange, routingKey, bytes.baseAddress, bytes.count)
        }
        guard status == AMQP_STATUS_OK.rawValue else {
            throw AMQPError(.connectionLost, "publishing to '\(routingKey)' on \(where_): \(Self.describe(status))")
        }
        lastPublishTag += 1
        return lastPublishTag
    }

    func ack(_ tag: UInt64) throws {
        let status = amqp_basic_ack(state, Self.channel, tag, 0)
        guard status == AMQP_STATUS_OK.rawValue else {
            throw AMQPError(.connectionLost, "acknowledging a message on \(where_): \(Self.describe(status))")
        }
    }

    /// Waits up to `timeout` for a message or a confirm (sending heartbeats meanwhile).
    /// - Throws: ``AMQPError`` when the connection or the channel is gone.
    func next(timeout: Duration) throws -> Event {
        amqp_maybe_release_buffers(state)
        var envelope = amqp_envelope_t()
        let microseconds = timeout.components.seconds * 1_000_000 + timeout.components.attoseconds / 1_000_000_000_000
        var wait = timeval(tv_sec: Int(microseconds / 1_000_000), tv_usec: Int(microseconds % 1_000_000))
        let reply = amqp_consume_message(state, &envelope, &wait, 0)
        if reply.reply_type == AMQP_RESPONSE_NORMAL {
            defer { amqp_destroy_envelope(&envelope) }
            let body = Self.bytes(envelope.message.body)
            let routingKey = String(decoding: Self.bytes(envelope.routing_key), as: UTF8.self)
            return .delivery(body: body, routingKey: routingKey, tag: envelope.delivery_tag, redelivered: envelope.redelivered != 0)
        }
        guard reply.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION else {
            try check(reply, "receiving")
            return .other
        }
        if reply.library_error == AMQP_STATUS_TIMEOUT.rawValue { return .timeout }
        guard reply.library_error == AMQP_STATUS_UNEXPECTED_STATE.rawValue else {
            throw AMQPError(.connectionLost, "receiving from \(where_): \(Self.describe(reply.library_error))")
        }
        // A frame outside a delivery, already read into rabbitmq-c's buffer: a confirm, or the broker closing.
        var frame = amqp_frame_t()
        let status = amqp_simple_wait_frame(state, &frame)
        guard status == AMQP_STATUS_OK.rawValue else {
            throw AMQPError(.connectionLost, "receiving from \(where_): \(Self.describe(status))")
        }
        var tag: UInt64 = 0
        var multiple: Int32 = 0
        switch tesp_amqp_classify_frame(&frame, &tag, &multiple) {
        case TESP_AMQP_FRAME_CONFIRM_ACK:
            return .confirm(tag: tag, multiple: multiple != 0, ok: true)
        case TESP_AMQP_FRAME_CONFIRM_NACK:
            return .confirm(tag: tag, multiple: multiple != 0, ok: false)
        case TESP_AMQP_FRAME_RETURN:
            var message = amqp_message_t()
            _ = amqp_read_message(state, frame.channel, &message, 0)
            amqp_destroy_message(&message)
            return .other
        case TESP_AMQP_FRAME_CHANNEL_CLOSE, TESP_AMQP_FRAME_CONNECTION_CLOSE:
            if frame.payload.method.id == Self.connectionCloseMethod { tesp_amqp_close_ok(state) }
            throw AMQPError(.connectionLost, "\(where_) closed the connection")
        default:
            return .other
        }
    }

    // MARK: Helpers

    /// connection.close (class 10, method 50): the broker closing the whole connection wants a close-ok.
    private static let connectionCloseMethod: amqp_method_number_t = 0x000A_0032
    private static var noArguments: amqp_table_t { amqp_table_t(num_entries: 0, entries: nil) }

    private func check(_ reply: amqp_rpc_reply_t, _ what: String) throws {
        switch reply.reply_type {
        case AMQP_RESPONSE_NORMAL:
            return
        case AMQP_RESPONSE_SERVER_EXCEPTION:
            var reason = [CChar](repeating: 0, count: 256)
            tesp_amqp_server_reason(reply, &reason, reason.count)
            let text = String(decoding: reason.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            throw AMQPError(.refused, "\(what) on \(where_): the broker answered \(text)")
        case AMQP_RESPONSE_LIBRARY_EXCEPTION:
            throw AMQPError(.connectionLost, "\(what) on \(where_): \(Self.describe(reply.library_error))")
        default:
            throw AMQPError(.connectionLost, "\(what) on \(where_): no reply")
        }
    }

    private static func describe(_ status: Int32) -> String {
        String(cString: amqp_error_string2(status))
    }

    private static func bytes(_ bytes: amqp_bytes_t) -> [UInt8] {
        guard let start = bytes.bytes, bytes.len > 0 else { return [] }
        return Array(UnsafeRawBufferPointer(start: start, count: bytes.len))
    }
}

/// A queue's counts, as the broker reports them.
public struct AMQPQueueInfo: Sendable, Equatable {
    public var messages: Int
    public var consumers: Int

    public init(messages: Int, consumers: Int) {
        self.messages = messages
        self.consumers = consumers
    }
}

/// TLS for `amqps://`: a CA bundle other than the system's, and whether to check the broker's certificate and name.
public struct AMQPTLS: Sendable, Equatable {
    public var caFile: String?
    public var verify: Bool

    public init(caFile: String? = nil, verify: Bool = true) {
        self.caFile = caFile
        self.verify = verify
    }
}
