#ifndef TESP_CAMQP_SHIM_H
#define TESP_CAMQP_SHIM_H

#include <amqp.h>
#include <amqp_framing.h>
#include <amqp_tcp_socket.h>
#include <amqp_ssl_socket.h>
#include <stdio.h>
#include <string.h>

// rabbitmq-c (librabbitmq) through a few typed helpers: amqp_login is variadic and the method ids and property
// flags are cast macros, neither of which Swift can use directly.

/// Logs in with SASL PLAIN.
static inline amqp_rpc_reply_t tesp_amqp_login_plain(amqp_connection_state_t _Nonnull state, const char *_Nonnull vhost,
                                                     int frame_max, int heartbeat_seconds,
                                                     const char *_Nonnull user, const char *_Nonnull password) {
    return amqp_login(state, vhost, 0, frame_max, heartbeat_seconds, AMQP_SASL_METHOD_PLAIN, user, password);
}

/// Publishes a persistent JSON message (content type application/json, utf-8: what kombu's json serializer sends
/// and accepts). Returns an amqp_status_enum.
static inline int tesp_amqp_publish_json(amqp_connection_state_t _Nonnull state, amqp_channel_t channel,
                                         const char *_Nonnull exchange, const char *_Nonnull routing_key,
                                         const void *_Nullable body, size_t length) {
    amqp_basic_properties_t properties;
    memset(&properties, 0, sizeof properties);
    properties._flags = AMQP_BASIC_CONTENT_TYPE_FLAG | AMQP_BASIC_CONTENT_ENCODING_FLAG | AMQP_BASIC_DELIVERY_MODE_FLAG;
    properties.content_type = amqp_cstring_bytes("application/json");
    properties.content_encoding = amqp_cstring_bytes("utf-8");
    properties.delivery_mode = AMQP_DELIVERY_PERSISTENT;
    amqp_bytes_t bytes;
    bytes.len = length;
    bytes.bytes = (void *)body;
    return amqp_basic_publish(state, channel, amqp_cstring_bytes(exchange), amqp_cstring_bytes(routing_key), 0, 0,
                              &properties, bytes);
}

/// What a frame that is not part of a delivery means to a client.
typedef enum {
    TESP_AMQP_FRAME_OTHER = 0,
    TESP_AMQP_FRAME_CONFIRM_ACK,
    TESP_AMQP_FRAME_CONFIRM_NACK,
    TESP_AMQP_FRAME_RETURN,
    TESP_AMQP_FRAME_CHANNEL_CLOSE,
    TESP_AMQP_FRAME_CONNECTION_CLOSE,
} tesp_amqp_frame_kind;

/// Classifies a method frame; for publisher confirms, sets the delivery tag and whether it covers every tag up to it.
static inline tesp_amqp_frame_kind tesp_amqp_classify_frame(const amqp_frame_t *_Nonnull frame,
                                                            uint64_t *_Nonnull delivery_tag, int *_Nonnull multiple) {
    if (frame->frame_type != AMQP_FRAME_METHOD) return TESP_AMQP_FRAME_OTHER;
    switch (frame->payload.method.id) {
    case AMQP_BASIC_ACK_METHOD: {
        const amqp_basic_ack_t *ack = (const amqp_basic_ack_t *)frame->payload.method.decoded;
        *delivery_tag = ack->delivery_tag;
        *multiple = ack->multiple;
        return TESP_AMQP_FRAME_CONFIRM_ACK;
    }
    case AMQP_BASIC_NACK_METHOD: {
        const amqp_basic_nack_t *nack = (const amqp_basic_nack_t *)frame->payload.method.decoded;
        *delivery_tag = nack->delivery_tag;
        *multiple = nack->multiple;
        return TESP_AMQP_FRAME_CONFIRM_NACK;
    }
    case AMQP_BASIC_RETURN_METHOD: return TESP_AMQP_FRAME_RETURN;
    case AMQP_CHANNEL_CLOSE_METHOD: return TESP_AMQP_FRAME_CHANNEL_CLOSE;
    case AMQP_CONNECTION_CLOSE_METHOD: return TESP_AMQP_FRAME_CONNECTION_CLOSE;
    default: return TESP_AMQP_FRAME_OTHER;
    }
}

/// The broker's reason when an RPC reply is a server exception (channel.close or connection.close), copied into
/// `buffer` (empty otherwise).
static inline void tesp_amqp_server_reason(amqp_rpc_reply_t reply, char *_Nonnull buffer, size_t size) {
    buffer[0] = 0;
    if (reply.reply_type != AMQP_RESPONSE_SERVER_EXCEPTION || size == 0) return;
    const amqp_bytes_t *text = NULL;
    int code = 0;
    if (reply.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
        const amqp_connection_close_t *close = (const amqp_connection_close_t *)reply.reply.decoded;
        text = &close->reply_text;
        code = close->reply_code;
    } else if (reply.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
        const amqp_channel_close_t *close = (const amqp_channel_close_t *)reply.reply.decoded;
        text = &close->reply_text;
        code = close->reply_code;
    }
    if (text == NULL) return;
    snprintf(buffer, size, "%d %.*s", code, (int)text->len, (const char *)text->bytes);
}

/// Acknowledges a reply to a connection.close from the broker, so that the socket can be closed cleanly.
static inline void tesp_amqp_close_ok(amqp_connection_state_t _Nonnull state) {
    amqp_connection_close_ok_t ok;
    amqp_send_method(state, 0, AMQP_CONNECTION_CLOSE_OK_METHOD, &ok);
}

#endif
