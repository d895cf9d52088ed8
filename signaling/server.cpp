// SPDX-License-Identifier: MIT
// libsoup glue: static client from GResource, /healthz, and /ws feeding the registry.
#include "server.h"

#include "options.h"
#include "src/common/gobj.h"

#include <gio/gio.h>

#include <algorithm>
#include <cstring>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

namespace duet::signaling {

struct Server::Conn {
    Server *server;
    ConnId id;
    SoupWebsocketConnection *ws; // owned reference
    std::string ip;
    gulong handlers[3] = {0, 0, 0};
    gint64 idle_since_us = 0; // when it connected or last left a room
    double tokens = 0;        // rate-limit bucket
    gint64 refill_us = 0;
};

namespace {

// Private close code (4000-4999 range): "your seat was resumed by a newer connection".
// Clients must not reconnect on it, or two tabs holding one token would fight forever.
constexpr gushort kCloseReplaced = 4001;

// Pending-connection queue; the kernel caps it at net.core.somaxconn (4096 on Debian 12).
constexpr gint kListenBacklog = 4096;

// RFC 6585; libsoup 3.2 has no name for it.
constexpr guint kStatusTooManyRequests = 429;

const char *content_type_for(const char *path) {
    struct Ext {
        const char *ext, *type;
    };
    static const Ext table[] = {
        {".html", "text/html; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".mjs", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".svg", "image/svg+xml"},
        {".png", "image/png"},
        {".ico", "image/x-icon"},
        {".json", "application/json"},
        {".webmanifest", "application/manifest+json"},
    };
    for (const auto &e : table)
        if (g_str_has_suffix(path, e.ext))
            return e.type;
    return "application/octet-stream";
}

void respond_text(SoupServerMessage *msg, guint status, const char *text) {
    soup_server_message_set_status(msg, status, nullptr);
    soup_server_message_set_response(msg, "text/plain; charset=utf-8", SOUP_MEMORY_COPY, text,
                                     std::strlen(text));
}

} // namespace

static RegistryConfig registry_config(const ServerConfig &c) {
    RegistryConfig r = c.registry;
    if (!c.stun_uris.empty() || !c.turn_uris.empty()) {
        // Copies, not references: the registry may outlive a moved-from config.
        r.ice_servers = [c](const std::string &id) {
            return ice_servers_for(c, id, g_get_real_time() / G_USEC_PER_SEC);
        };
    }
    return r;
}

Server::Server(ServerConfig config)
    : config_(std::move(config)), registry_(registry_config(config_)) {}

Server::~Server() {
    if (expire_timer_)
        g_source_remove(expire_timer_);
    for (auto &[id, c] : conns_) {
        for (gulong h : c->handlers)
            if (h)
                g_signal_handler_disconnect(c->ws, h);
        g_object_unref(c->ws);
    }
    conns_.clear();
    if (soup_) {
        soup_server_disconnect(soup_);
        g_object_unref(soup_);
    }
}

bool Server::start(std::string *error) {
    Ref<GTlsCertificate> cert;
    if (!config_.tls_cert_file.empty()) {
        GErr terr;
        cert = Ref<GTlsCertificate>::adopt(g_tls_certificate_new_from_files(
            config_.tls_cert_file.c_str(), config_.tls_key_file.c_str(), terr.out()));
        if (!cert) {
            *error = std::string("cannot load TLS certificate/key: ") + terr.message();
            return false;
        }
        tls_ = true;
    }
    soup_ = soup_server_new("server-header", "duet", "tls-certificate", cert.get(), nullptr);
    // Cross-site WebSocket hijacking defence: a page on another origin must not be able to
    // open a socket here with the visitor's network position. Checked before the upgrade.
    soup_server_add_early_handler(
        soup_, "/ws",
        [](SoupServer *, SoupServerMessage *msg, const char *, GHashTable *, gpointer self) {
            auto *s = static_cast<Server *>(self);
            if (!s->origin_allowed(msg)) {
                ++s->origin_refused_total_;
                respond_text(msg, SOUP_STATUS_FORBIDDEN, "origin not allowed\n");
                return;
            }
            const char *ip = soup_server_message_get_remote_host(msg);
            auto it = s->per_ip_.find(ip ? ip : "");
            if (it != s->per_ip_.end() && it->second >= s->config_.max_connections_per_ip) {
                ++s->errors_total_["too-many-connections"];
                respond_text(msg, kStatusTooManyRequests,
                             "too many connections from this address\n");
            }
        },
        this, nullptr);
    soup_server_add_handler(soup_, nullptr, on_http, this, nullptr);
    soup_server_add_websocket_handler(soup_, "/ws", nullptr, nullptr, on_websocket, this, nullptr);
    // Signalling frames are small; permessage-deflate would cost ~97 KB per connection.
    soup_server_remove_websocket_extension(soup_, SOUP_TYPE_WEBSOCKET_EXTENSION_DEFLATE);

    Ref<GInetAddress> addr =
        Ref<GInetAddress>::adopt(g_inet_address_new_from_string(config_.host.c_str()));
    if (!addr) {
        *error = "--host must be an IP address, got '" + config_.host + "'";
        return false;
    }
    auto sockaddr =
        Ref<GSocketAddress>::adopt(g_inet_socket_address_new(addr.get(), guint16(config_.port)));
    GErr err;
    // Our own listening socket: libsoup's default accept backlog is 10, so a burst of
    // connections (a school's worth of tabs, or the load bench) would see refused SYNs.
    auto sock =
        Ref<GSocket>::adopt(g_socket_new(g_inet_address_get_family(addr.get()),
                                         G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, err.out()));
    bool ok = bool(sock);
    if (ok) {
        g_socket_set_listen_backlog(sock.get(), kListenBacklog);
        ok = g_socket_bind(sock.get(), sockaddr.get(), TRUE, err.out()) &&
             g_socket_listen(sock.get(), err.out());
    }
    auto listen_opts = tls_ ? SOUP_SERVER_LISTEN_HTTPS : SoupServerListenOptions(0);
    if (!ok || !soup_server_listen_socket(soup_, sock.get(), listen_opts, err.out())) {
        *error = std::string("cannot listen on ") + config_.host + ":" +
                 std::to_string(config_.port) + ": " + err.message();
        return false;
    }
    int port = config_.port;
    GSList *listeners = soup_server_get_listeners(soup_);
    if (listeners) {
        GErr lerr;
        auto local = Ref<GSocketAddress>::adopt(
            g_socket_get_local_address(G_SOCKET(listeners->data), lerr.out()));
        if (local)
            port = g_inet_socket_address_get_port(G_INET_SOCKET_ADDRESS(local.get()));
    }
    g_slist_free(listeners);
    bool v6 = g_inet_address_get_family(addr.get()) == G_SOCKET_FAMILY_IPV6;
    url_ = std::string(tls_ ? "https://" : "http://") + (v6 ? "[" : "") + config_.host +
           (v6 ? "]" : "") + ":" + std::to_string(port) + "/";

    expire_timer_ = g_timeout_add_seconds(
        1,
        [](gpointer self) -> gboolean {
            static_cast<Server *>(self)->tick();
            return G_SOURCE_CONTINUE;
        },
        this);
    return true;
}

void Server::on_http(SoupServer *, SoupServerMessage *msg, const char *path, GHashTable *,
                     gpointer self) {
    const char *method = soup_server_message_get_method(msg);
    if (std::strcmp(method, "GET") != 0 && std::strcmp(method, "HEAD") != 0) {
        respond_text(msg, SOUP_STATUS_METHOD_NOT_ALLOWED, "method not allowed\n");
        return;
    }
    if (std::strcmp(path, "/healthz") == 0) {
        respond_text(msg, SOUP_STATUS_OK, "ok\n");
        return;
    }
    if (std::strcmp(path, "/metrics") == 0) {
        std::string body = static_cast<Server *>(self)->metrics();
        soup_server_message_set_status(msg, SOUP_STATUS_OK, nullptr);
        soup_server_message_set_response(msg, "text/plain; version=0.0.4; charset=utf-8",
                                         SOUP_MEMORY_COPY, body.data(), body.size());
        return;
    }
    if (std::strcmp(path, "/ws") == 0) {
        respond_text(msg, SOUP_STATUS_BAD_REQUEST, "this is a WebSocket endpoint\n");
        return;
    }
    // Flat namespace: no '..' or nested paths can reach outside the client's files.
    const char *name = std::strcmp(path, "/") == 0 ? "index.html" : path + 1;
    if (std::strchr(name, '/') || name[0] == '.' || name[0] == '\0') {
        respond_text(msg, SOUP_STATUS_NOT_FOUND, "not found\n");
        return;
    }
    std::string resource = std::string("/duet/web/") + name;
    GBytes *bytes =
        g_resources_lookup_data(resource.c_str(), G_RESOURCE_LOOKUP_FLAGS_NONE, nullptr);
    if (!bytes || std::strcmp(name, "duet.gresource.xml") == 0) {
        if (bytes)
            g_bytes_unref(bytes);
        respond_text(msg, SOUP_STATUS_NOT_FOUND, "not found\n");
        return;
    }
    SoupMessageHeaders *h = soup_server_message_get_response_headers(msg);
    soup_message_headers_replace(h, "Cache-Control", "no-cache");
    soup_message_headers_replace(h, "X-Content-Type-Options", "nosniff");
    soup_message_headers_replace(h, "Referrer-Policy", "no-referrer");
    soup_message_headers_replace(h, "Permissions-Policy", "camera=(self), microphone=(self)");
    soup_server_message_set_status(msg, SOUP_STATUS_OK, nullptr);
    gsize len = 0;
    const void *data = g_bytes_get_data(bytes, &len);
    // Resource data is static for the process lifetime, so no copy is needed.
    soup_server_message_set_response(msg, content_type_for(name), SOUP_MEMORY_STATIC,
                                     static_cast<const char *>(data), len);
    g_bytes_unref(bytes);
}

void Server::on_websocket(SoupServer *, SoupServerMessage *msg, const char *,
                          SoupWebsocketConnection *ws, gpointer self) {
    auto *s = static_cast<Server *>(self);
    if (GSocket *sock = soup_server_message_get_socket(msg)) {
        // With pings in flight, a half-open peer leaves data unacknowledged; the kernel then
        // aborts the connection after this timeout, and libsoup reports it closed.
        guint ms = s->config_.dead_peer_seconds * 1000;
        setsockopt(g_socket_get_fd(sock), IPPROTO_TCP, TCP_USER_TIMEOUT, &ms, sizeof ms);
        // Signalling is small request/response frames: Nagle plus the peer's delayed ACK
        // would hold each one back by up to 40 ms.
        int one = 1;
        setsockopt(g_socket_get_fd(sock), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    ++s->connections_total_;
    auto c = std::make_unique<Conn>();
    c->server = s;
    c->id = s->next_id_++;
    c->idle_since_us = c->refill_us = g_get_monotonic_time();
    const char *ip = soup_server_message_get_remote_host(msg);
    c->ip = ip ? ip : "";
    ++s->per_ip_[c->ip];
    c->tokens = s->config_.rate_burst;
    c->ws = static_cast<SoupWebsocketConnection *>(g_object_ref(ws));
    soup_websocket_connection_set_max_incoming_payload_size(ws, s->config_.hard_message_bytes);
    soup_websocket_connection_set_keepalive_interval(ws, s->config_.keepalive_seconds);
    c->handlers[0] = g_signal_connect_swapped(
        ws, "message", G_CALLBACK(+[](Conn *c, gint type, GBytes *message) {
            // Frames already queued behind our close frame are not worth answering.
            if (soup_websocket_connection_get_state(c->ws) != SOUP_WEBSOCKET_STATE_OPEN)
                return;
            if (g_bytes_get_size(message) > c->server->config_.max_message_bytes) {
                ++c->server->errors_total_["too-large"];
                soup_websocket_connection_close(c->ws, SOUP_WEBSOCKET_CLOSE_TOO_BIG,
                                                "message too large");
                return;
            }
            if (type != SOUP_WEBSOCKET_DATA_TEXT) {
                c->server->send_error(c->id, proto::ErrorCode::BadMessage,
                                      "binary frames are not part of the protocol");
                return;
            }
            c->server->on_text(*c, message);
        }),
        c.get());
    c->handlers[1] = g_signal_connect_swapped(
        ws, "closed", G_CALLBACK(+[](Conn *c) { c->server->on_closed(c->id); }), c.get());
    c->handlers[2] = g_signal_connect_swapped(ws, "error", G_CALLBACK(+[](Conn *c, GError *e) {
                                                  g_debug("connection %" G_GUINT64_FORMAT ": %s",
                                                          c->id, e->message);
                                              }),
                                              c.get());
    g_debug("connection %" G_GUINT64_FORMAT " opened", c->id);
    s->conns_.emplace(c->id, std::move(c));
}

void Server::on_text(Conn &c, GBytes *bytes) {
    gint64 now_us = g_get_monotonic_time();
    c.tokens = std::min(config_.rate_burst,
                        c.tokens + double(now_us - c.refill_us) * config_.rate_per_second / 1e6);
    c.refill_us = now_us;
    if (c.tokens < 1) {
        g_info("connection %" G_GUINT64_FORMAT " closed: over %.0f messages/s", c.id,
               config_.rate_per_second);
        ++errors_total_["rate-limited"];
        soup_websocket_connection_close(c.ws, SOUP_WEBSOCKET_CLOSE_POLICY_VIOLATION,
                                        "too many messages");
        return;
    }
    c.tokens -= 1;
    gsize len = 0;
    const char *data = static_cast<const char *>(g_bytes_get_data(bytes, &len));
    auto parsed = proto::parse_client(std::string_view(data ? data : "", len));
    if (auto *e = std::get_if<proto::ParseError>(&parsed)) {
        send_error(c.id, e->code, e->message);
        return;
    }
    Effects fx;
    registry_.handle(c.id, std::get<proto::ClientMessage>(parsed), Clock::now(), fx);
    apply(fx);
    // Someone choosing another name after room-full is not idle.
    if (!registry_.is_joined(c.id))
        c.idle_since_us = now_us;
}

void Server::tick() {
    Effects fx;
    registry_.expire(Clock::now(), fx);
    apply(fx);
    gint64 now_us = g_get_monotonic_time();
    gint64 limit_us = gint64(config_.join_timeout_seconds) * 1000000;
    std::vector<SoupWebsocketConnection *> idle;
    for (auto &[id, c] : conns_) {
        if (registry_.is_joined(id)) {
            c->idle_since_us = now_us;
            continue;
        }
        if (now_us - c->idle_since_us >= limit_us &&
            soup_websocket_connection_get_state(c->ws) == SOUP_WEBSOCKET_STATE_OPEN)
            idle.push_back(c->ws);
    }
    // Closing may re-enter on_closed (which edits conns_), so it happens after the scan.
    errors_total_["join-timeout"] += idle.size();
    for (auto *ws : idle)
        soup_websocket_connection_close(ws, SOUP_WEBSOCKET_CLOSE_POLICY_VIOLATION,
                                        "no room joined in time");
}

void Server::on_closed(ConnId id) {
    auto it = conns_.find(id);
    if (it == conns_.end())
        return;
    // Take ownership out of the map first: apply() may look the connection up.
    std::unique_ptr<Conn> c = std::move(it->second);
    conns_.erase(it);
    if (auto ip = per_ip_.find(c->ip); ip != per_ip_.end() && --ip->second == 0)
        per_ip_.erase(ip);
    for (gulong h : c->handlers)
        if (h)
            g_signal_handler_disconnect(c->ws, h);
    g_debug("connection %" G_GUINT64_FORMAT " closed", id);
    Effects fx;
    registry_.disconnected(id, Clock::now(), fx);
    apply(fx);
    // The connection object may still be finishing its close handshake; dropping our
    // reference from an idle avoids unreffing it inside its own signal emission.
    g_idle_add_once([](gpointer ws) { g_object_unref(ws); }, c->ws);
}

void Server::send(ConnId to, const std::string &text) {
    auto it = conns_.find(to);
    if (it == conns_.end())
        return;
    SoupWebsocketConnection *ws = it->second->ws;
    if (soup_websocket_connection_get_state(ws) != SOUP_WEBSOCKET_STATE_OPEN)
        return;
    soup_websocket_connection_send_text(ws, text.c_str());
}

void Server::send_error(ConnId to, proto::ErrorCode code, std::string message) {
    ++errors_total_[proto::error_code_name(code)];
    send(to, proto::to_json(proto::ServerMessage{proto::Error{code, std::move(message)}}));
}

void Server::apply(Effects &fx) {
    for (auto &s : fx.send) {
        if (std::holds_alternative<proto::Relayed>(s.msg))
            ++relayed_total_;
        else if (auto *e = std::get_if<proto::Error>(&s.msg))
            ++errors_total_[proto::error_code_name(e->code)];
        send(s.to, proto::to_json(s.msg));
    }
    for (ConnId id : fx.close) {
        auto it = conns_.find(id);
        if (it != conns_.end() &&
            soup_websocket_connection_get_state(it->second->ws) == SOUP_WEBSOCKET_STATE_OPEN)
            soup_websocket_connection_close(it->second->ws, kCloseReplaced,
                                            "seat resumed by a newer connection");
    }
}

} // namespace duet::signaling

namespace duet::signaling {

bool Server::origin_allowed(SoupServerMessage *msg) const {
    SoupMessageHeaders *h = soup_server_message_get_request_headers(msg);
    const char *origin = soup_message_headers_get_one(h, "Origin");
    if (!origin)
        return true; // native clients (duet-peer) send none; browsers always do
    const char *host = soup_message_headers_get_one(h, "Host");
    if (host) {
        std::string own = std::string(tls_ ? "https://" : "http://") + host;
        if (g_ascii_strcasecmp(origin, own.c_str()) == 0)
            return true;
    }
    for (const auto &allowed : config_.allowed_origins)
        if (g_ascii_strcasecmp(origin, allowed.c_str()) == 0)
            return true;
    g_info("refused WebSocket from origin %s", origin);
    return false;
}

std::string Server::metrics() const {
    std::string out;
    auto gauge = [&](const char *name, const char *help, guint64 v, const char *type) {
        out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n" +
               name + " " + std::to_string(v) + "\n";
    };
    gauge("duet_rooms", "Rooms with at least one seat taken.", registry_.room_count(), "gauge");
    gauge("duet_peers", "Seats taken, including seats held for a resume.", registry_.member_total(),
          "gauge");
    gauge("duet_connections", "Open WebSocket connections.", conns_.size(), "gauge");
    gauge("duet_connections_total", "WebSocket connections accepted.", connections_total_,
          "counter");
    gauge("duet_messages_relayed_total", "Signal messages relayed between peers.", relayed_total_,
          "counter");
    gauge("duet_origin_refused_total", "WebSocket upgrades refused for their Origin.",
          origin_refused_total_, "counter");
    out += "# HELP duet_errors_total Errors sent to clients or connections closed, by code.\n"
           "# TYPE duet_errors_total counter\n";
    for (const auto &[code, n] : errors_total_)
        out += "duet_errors_total{code=\"" + code + "\"} " + std::to_string(n) + "\n";
    return out;
}

} // namespace duet::signaling
