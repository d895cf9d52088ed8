// SPDX-License-Identifier: MIT
// libsoup glue: static client from GResource, /healthz, and /ws feeding the registry.
#include "server.h"

#include "common/ref.h"
#include "ice_servers.h"

#include <gio/gio.h>

#include <algorithm>
#include <cstring>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>

namespace duet::signaling {

struct Server::Conn {
    ConnId id;
    ws::Conn *ws; // owned by the hub; valid until on_closed
    std::string ip;
    std::string source;       // ip, or its /64 for IPv6: one limit on wrong room keys
    gint64 idle_since_us = 0; // when it connected or last left a room
    double tokens = 0;        // rate-limit bucket
    gint64 refill_us = 0;
};

// A WebSocket upgrade accepted by libsoup, waiting for its 101 response to be written.
struct Server::Upgrade {
    Server *server;
    Ref<GSocket> socket;
    std::string ip;
};

namespace {

// Pending-connection queue; the kernel caps it at net.core.somaxconn (4096 on Debian 12).
constexpr gint kListenBacklog = 4096;

// What the browser client may load and connect to: its own scripts, styles, images and
// WebSocket, nothing inline, and no page may frame it (clickjacking the camera button).
constexpr const char *kContentSecurityPolicy =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "media-src 'self' blob: mediastream:; connect-src 'self'; manifest-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

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

// Where wrong room keys are counted: an IPv4 address, or an IPv6 /64, since one home or
// one server commonly holds a whole /64 and could otherwise try from each of its addresses.
std::string attempt_source(const std::string &ip) {
    auto addr = Ref<GInetAddress>::adopt(g_inet_address_new_from_string(ip.c_str()));
    if (!addr || g_inet_address_get_family(addr.get()) != G_SOCKET_FAMILY_IPV6)
        return ip;
    const guint8 *b = g_inet_address_to_bytes(addr.get());
    static const guint8 v4_mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (std::memcmp(b, v4_mapped, sizeof v4_mapped) == 0)
        return std::to_string(b[12]) + "." + std::to_string(b[13]) + "." +
               std::to_string(b[14]) + "." + std::to_string(b[15]);
    char prefix[40];
    g_snprintf(prefix, sizeof prefix, "%02x%02x:%02x%02x:%02x%02x:%02x%02x::/64", b[0], b[1],
               b[2], b[3], b[4], b[5], b[6], b[7]);
    return prefix;
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
    lifeline_.remove(expire_timer_);
    cluster_.reset();
    hub_.reset(); // drops every WebSocket, without callbacks
    conns_.clear();
    acceptor_.reset();
    if (listener_)
        g_socket_close(listener_.get(), nullptr);
    if (soup_)
        soup_server_disconnect(soup_.get());
}

bool Server::healthy(gint64 grace_us) const {
    return acceptor_ && acceptor_->accepting(g_get_monotonic_time(), grace_us);
}

Result<void> Server::listen() {
    Ref<GInetAddress> addr =
        Ref<GInetAddress>::adopt(g_inet_address_new_from_string(config_.host.c_str()));
    if (!addr)
        return fail("--host must be an IP address, got '" + config_.host + "'");
    auto sockaddr =
        Ref<GSocketAddress>::adopt(g_inet_socket_address_new(addr.get(), guint16(config_.port)));
    GErr err;
    // Our own listening socket, accepted from by Acceptor (see acceptor.h for why not
    // libsoup's); its backlog holds a burst of connections (a school's worth of tabs, or
    // the load bench), and connections that arrive while descriptors are short.
    auto sock =
        Ref<GSocket>::adopt(g_socket_new(g_inet_address_get_family(addr.get()),
                                         G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, err.out()));
    bool ok = bool(sock);
    if (ok) {
        g_socket_set_listen_backlog(sock.get(), kListenBacklog);
        ok = g_socket_bind(sock.get(), sockaddr.get(), TRUE, err.out()) &&
             g_socket_listen(sock.get(), err.out());
    }
    if (!ok)
        return fail(std::string("cannot listen on ") + config_.host + ":" +
                    std::to_string(config_.port) + ": " + err.message());
    int port = config_.port;
    auto local = Ref<GSocketAddress>::adopt(g_socket_get_local_address(sock.get(), nullptr));
    if (local)
        port = g_inet_socket_address_get_port(G_INET_SOCKET_ADDRESS(local.get()));
    bool v6 = g_inet_address_get_family(addr.get()) == G_SOCKET_FAMILY_IPV6;
    url_ = std::string(tls_ ? "https://" : "http://") + (v6 ? "[" : "") + config_.host +
           (v6 ? "]" : "") + ":" + std::to_string(port) + "/";
    listener_ = std::move(sock);
    return {};
}

Result<void> Server::start() {
    rlimit rl{};
    unsigned fd_limit = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY
                            ? unsigned(std::min<rlim_t>(rl.rlim_cur, 1u << 30))
                            : (1u << 20);
    if (config_.max_connections == 0) {
        config_.max_connections = fd_limit > 2 * kFdReserve ? fd_limit - kFdReserve : fd_limit / 2;
    } else if (config_.max_connections + kFdReserve / 2 > fd_limit) {
        g_warning("--max-connections %u is close to or above the descriptor limit (%u): when "
                  "descriptors run out, new connections wait until some close",
                  config_.max_connections, fd_limit);
    }
    if (!config_.redis_url.empty()) {
        auto url = redis::parse_url(config_.redis_url);
        if (!url)
            return fail("--redis: " + url.message());
        ClusterConfig cc;
        cc.url = *url;
        cluster_ = std::make_unique<Cluster>(cc, registry_config(config_),
                                             [this](Effects &fx) { apply(fx); });
        cluster_->start();
    }
    Ref<GTlsCertificate> cert;
    if (!config_.tls_cert_file.empty()) {
        GErr terr;
        cert = Ref<GTlsCertificate>::adopt(g_tls_certificate_new_from_files(
            config_.tls_cert_file.c_str(), config_.tls_key_file.c_str(), terr.out()));
        if (!cert)
            return fail(std::string("cannot load TLS certificate/key: ") + terr.message());
        tls_ = true;
    }
    soup_ = Ref<SoupServer>::adopt(SOUP_SERVER(
        soup_server_new("server-header", "duet", "tls-certificate", cert.get(), nullptr)));
    // Cross-site WebSocket hijacking defence: a page on another origin must not be able to
    // open a socket here with the visitor's network position. Checked before the upgrade.
    soup_server_add_early_handler(
        soup_.get(), "/ws",
        [](SoupServer *, SoupServerMessage *msg, const char *, GHashTable *, gpointer self) {
            auto *s = static_cast<Server *>(self);
            if (!s->origin_allowed(msg)) {
                ++s->origin_refused_total_;
                respond_text(msg, SOUP_STATUS_FORBIDDEN, "origin not allowed\n");
            }
        },
        this, nullptr);
    soup_server_add_handler(soup_.get(), nullptr, on_http, this, nullptr);
    // The early handler above made "/ws" a path of its own, which needs its own handler.
    soup_server_add_handler(soup_.get(), "/ws", on_http, this, nullptr);
    ws::Hub::Limits limits;
    limits.max_message = config_.max_message_bytes;
    limits.keepalive_seconds = config_.keepalive_seconds;
    limits.dead_peer_seconds = config_.dead_peer_seconds;
    hub_ = std::make_unique<ws::Hub>(static_cast<ws::Hub::Listener *>(this), limits);
    if (auto started = hub_->start(); !started)
        return started;

    if (auto listening = listen(); !listening)
        return listening;
    Acceptor::Limits caps;
    caps.max_connections = config_.max_connections;
    caps.max_per_ip = config_.max_connections_per_ip;
    caps.http_timeout_seconds = config_.http_timeout_seconds;
    acceptor_ = std::make_unique<Acceptor>(soup_.get(), cert.get(), caps);
    acceptor_->start(listener_.get());

    expire_timer_ = lifeline_.add_timeout_seconds(
        1,
        [](gpointer self) -> gboolean {
            static_cast<Server *>(self)->tick();
            return G_SOURCE_CONTINUE;
        },
        this);
    return {};
}

void Server::on_http(SoupServer *, SoupServerMessage *msg, const char *path, GHashTable *,
                     gpointer self) {
    const char *method = soup_server_message_get_method(msg);
    if (std::strcmp(method, "GET") != 0 && std::strcmp(method, "HEAD") != 0) {
        // RFC 9110 15.5.6: a 405 must say which methods are allowed.
        soup_message_headers_replace(soup_server_message_get_response_headers(msg), "Allow",
                                     "GET, HEAD");
        respond_text(msg, SOUP_STATUS_METHOD_NOT_ALLOWED, "method not allowed\n");
        return;
    }
    if (std::strcmp(path, "/healthz") == 0) {
        // With --redis, an instance that cannot reach Redis refuses joins: a balancer should
        // send people elsewhere.
        auto *server = static_cast<Server *>(self);
        if (server->cluster_ && !server->cluster_->redis_up())
            respond_text(msg, SOUP_STATUS_SERVICE_UNAVAILABLE, "redis unavailable\n");
        else
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
        static_cast<Server *>(self)->upgrade(msg);
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
    soup_message_headers_replace(h, "Content-Security-Policy", kContentSecurityPolicy);
    soup_message_headers_replace(h, "X-Frame-Options", "DENY"); // frame-ancestors, for old browsers
    soup_server_message_set_status(msg, SOUP_STATUS_OK, nullptr);
    gsize len = 0;
    const void *data = g_bytes_get_data(bytes, &len);
    // Resource data is static for the process lifetime, so no copy is needed.
    soup_server_message_set_response(msg, content_type_for(name), SOUP_MEMORY_STATIC,
                                     static_cast<const char *>(data), len);
    g_bytes_unref(bytes);
}

void Server::upgrade(SoupServerMessage *msg) {
    // Sets a 400 response itself when the request is not a valid upgrade. No extensions
    // are offered: signaling frames are small, and permessage-deflate would cost ~100 KB
    // per connection.
    if (std::strcmp(soup_server_message_get_method(msg), "GET") != 0 ||
        !soup_websocket_server_process_handshake(msg, nullptr, nullptr, nullptr, nullptr)) {
        if (soup_server_message_get_status(msg) == 0)
            respond_text(msg, SOUP_STATUS_BAD_REQUEST, "this is a WebSocket endpoint\n");
        return;
    }
    GSocket *sock = acceptor_->socket_of(msg);
    if (!sock) {
        respond_text(msg, SOUP_STATUS_INTERNAL_SERVER_ERROR, "no socket\n");
        return;
    }
    const char *ip = soup_server_message_get_remote_host(msg);
    auto *up = new Upgrade{this, Ref<GSocket>::ref(sock), ip ? ip : ""};
    g_signal_connect_data(
        msg, "wrote-informational", G_CALLBACK(on_upgraded), up,
        [](gpointer up, GClosure *) { delete static_cast<Upgrade *>(up); }, GConnectFlags(0));
}

void Server::on_upgraded(SoupServerMessage *msg, gpointer data) {
    auto *up = static_cast<Upgrade *>(data);
    Server *s = up->server;
    // The 101 is out: from here the socket is ours, not libsoup's.
    GIOStream *stream = soup_server_message_steal_connection(msg);
    if (!stream)
        return;
    int fd = g_socket_get_fd(up->socket.get());
    // With pings in flight, a half-open peer leaves data unacknowledged; the kernel then
    // aborts the connection after this timeout.
    guint ms = s->config_.dead_peer_seconds * 1000;
    setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &ms, sizeof ms);
    // Signaling is small request/response frames: Nagle plus the peer's delayed ACK
    // would hold each one back by up to 40 ms.
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    s->acceptor_->upgraded(msg);
    ConnId id = s->next_id_++;
    ws::Conn *ws = s->hub_->adopt(id, stream, up->socket.get());
    g_object_unref(stream);
    if (!ws) {
        g_warning("connection %" G_GUINT64_FORMAT ": cannot take over the socket", id);
        return;
    }
    ++s->connections_total_;
    auto c = std::make_unique<Conn>();
    c->id = id;
    c->ws = ws;
    c->idle_since_us = c->refill_us = g_get_monotonic_time();
    c->ip = up->ip;
    c->source = attempt_source(c->ip);
    c->tokens = s->config_.rate_burst;
    ws->user = c.get();
    g_debug("connection %" G_GUINT64_FORMAT " opened", id);
    s->conns_.emplace(id, std::move(c));
}

void Server::on_message(ws::Conn &wc, bool text, std::string &data) {
    auto *c = static_cast<Conn *>(wc.user);
    if (!c)
        return;
    if (!text) {
        send_error(c->id, proto::ErrorCode::BadMessage,
                   "binary frames are not part of the protocol");
        return;
    }
    on_text(*c, data);
}

void Server::on_text(Conn &c, std::string_view text) {
    gint64 now_us = g_get_monotonic_time();
    c.tokens = std::min(config_.rate_burst,
                        c.tokens + double(now_us - c.refill_us) * config_.rate_per_second / 1e6);
    c.refill_us = now_us;
    if (c.tokens < 1) {
        g_info("connection %" G_GUINT64_FORMAT " closed: over %.0f messages/s", c.id,
               config_.rate_per_second);
        ++errors_total_["rate-limited"];
        c.ws->close(ws::kClosePolicy, "too many messages");
        return;
    }
    c.tokens -= 1;
    auto parsed = proto::parse_client(text);
    if (auto *e = std::get_if<proto::ParseError>(&parsed)) {
        send_error(c.id, e->code, e->message);
        return;
    }
    Effects fx;
    if (cluster_)
        cluster_->handle(c.id, std::get<proto::ClientMessage>(parsed), Clock::now(), fx, c.source);
    else
        registry_.handle(c.id, std::get<proto::ClientMessage>(parsed), Clock::now(), fx, c.source);
    apply(fx);
    // Someone choosing another name after room-full is not idle.
    if (!engaged(c.id))
        c.idle_since_us = now_us;
}

void Server::tick() {
    gint64 now_us = g_get_monotonic_time();
    gint64 limit_us = gint64(config_.join_timeout_seconds) * 1000000;
    // In a room, or waiting in its lobby (the room has --lobby-timeout to answer): not idle.
    // Marked before expire(), so someone whose seat or knock ends now gets the whole
    // --join-timeout to choose again, from now.
    for (auto &[id, c] : conns_)
        if (engaged(id))
            c->idle_since_us = now_us;
    Effects fx;
    if (cluster_)
        cluster_->expire(Clock::now());
    else
        registry_.expire(Clock::now(), fx);
    apply(fx);
    for (auto &[id, c] : conns_) {
        if (engaged(id))
            continue;
        if (now_us - c->idle_since_us >= limit_us && c->ws->open()) {
            ++errors_total_["join-timeout"];
            c->ws->close(ws::kClosePolicy, "no room joined in time"); // never re-enters
        }
    }
    hub_->tick(now_us);
    acceptor_->tick(now_us);
}

void Server::on_closed(ws::Conn &wc, std::uint16_t code) {
    auto *conn = static_cast<Conn *>(wc.user);
    if (!conn)
        return;
    wc.user = nullptr;
    ConnId id = conn->id;
    auto it = conns_.find(id);
    if (it == conns_.end())
        return;
    // Take ownership out of the map first: apply() may look the connection up.
    std::unique_ptr<Conn> c = std::move(it->second);
    conns_.erase(it);
    if (code == ws::kCloseTooBig)
        ++errors_total_["too-large"];
    else if (code == ws::kCloseProtocolError || code == ws::kCloseBadData)
        ++errors_total_["protocol-error"];
    g_debug("connection %" G_GUINT64_FORMAT " closed (%u)", id, unsigned(code));
    Effects fx;
    if (cluster_)
        cluster_->disconnected(id, fx);
    else
        registry_.disconnected(id, Clock::now(), fx);
    apply(fx);
}

bool Server::engaged(ConnId id) const {
    if (cluster_)
        return cluster_->is_joined(id);
    return registry_.is_joined(id) || registry_.is_waiting(id);
}

void Server::send(ConnId to, const std::string &text) {
    auto it = conns_.find(to);
    if (it == conns_.end())
        return;
    it->second->ws->send_text(text);
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
    for (auto &[to, text] : fx.text) {
        if (g_str_has_prefix(text.c_str(), "{\"type\":\"signal\""))
            ++relayed_total_;
        send(to, text);
    }
    for (ConnId id : fx.close) {
        auto it = conns_.find(id);
        if (it != conns_.end())
            it->second->ws->close(proto::kCloseSeatReplaced, "seat resumed by a newer connection");
    }
}

} // namespace duet::signaling

namespace duet::signaling {

namespace {

// The host of a Host header value ("name:port", "[v6]:port"), lowercased.
std::string host_of(const char *authority) {
    std::string a = authority;
    std::size_t end = a[0] == '[' ? a.find(']') : a.rfind(':');
    std::string host =
        a[0] == '[' && end != std::string::npos ? a.substr(1, end - 1) : a.substr(0, end);
    for (char &ch : host)
        ch = g_ascii_tolower(ch);
    return host;
}

} // namespace

bool Server::origin_allowed(SoupServerMessage *msg) const {
    SoupMessageHeaders *h = soup_server_message_get_request_headers(msg);
    const char *origin = soup_message_headers_get_one(h, "Origin");
    if (!origin)
        return true; // native clients (duet-peer) send none; browsers always do
    for (const auto &allowed : config_.allowed_origins)
        if (g_ascii_strcasecmp(origin, allowed.c_str()) == 0)
            return true;
    // The page must come from this server (same scheme and authority as the request)...
    const char *authority = soup_message_headers_get_one(h, "Host");
    std::string own = std::string(tls_ ? "https://" : "http://") + (authority ? authority : "");
    if (!authority || !*authority || g_ascii_strcasecmp(origin, own.c_str()) != 0) {
        g_info("refused WebSocket from origin %s: not this server's page (--allow-origin %s "
               "would allow it)",
               origin, origin);
        return false;
    }
    // ...and be reached by a name that is known to be this server's. A DNS-rebinding page
    // has its own name in both Origin and Host, so their match alone proves nothing.
    std::string host = host_of(authority);
    if (g_hostname_is_ip_address(host.c_str()) || host == "localhost")
        return true;
    for (const auto &name : config_.server_names)
        if (g_ascii_strcasecmp(name.c_str(), host.c_str()) == 0)
            return true;
    g_warning("refused WebSocket from origin %s: '%s' is not a name of this server; if it "
              "is, start duet-server with --server-name %s",
              origin, host.c_str(), host.c_str());
    return false;
}

std::string Server::metrics() const {
    std::string out;
    auto gauge = [&](const char *name, const char *help, guint64 v, const char *type) {
        out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n" +
               name + " " + std::to_string(v) + "\n";
    };
    // With --redis the room figures are this instance's own view (its members' rooms).
    const Cluster *c = cluster_.get();
    const bool here = c != nullptr;
    gauge("duet_rooms",
          here ? "Rooms with someone connected to this instance."
               : "Rooms with at least one seat taken.",
          here ? c->room_count() : registry_.room_count(), "gauge");
    gauge("duet_peers",
          here ? "Members connected to this instance."
               : "Seats taken, including seats held for a resume.",
          here ? c->member_total() : registry_.member_total(), "gauge");
    gauge("duet_private_rooms", "Rooms that need their key to enter.",
          here ? c->private_room_count() : registry_.private_room_count(), "gauge");
    gauge("duet_room_key_failures_total", "Joins refused for a wrong private-room key.",
          here ? c->key_failures_total() : registry_.key_failures_total(), "counter");
    gauge("duet_room_key_attempts_refused_total",
          "Joins to private rooms refused unchecked: too many wrong keys from the address.",
          here ? c->key_attempts_refused_total() : registry_.key_attempts_refused_total(),
          "counter");
    gauge("duet_lobby_waiting", "People waiting for someone in a room to let them in.",
          here ? c->waiting_count() : registry_.waiting_count(), "gauge");
    if (here) {
        gauge("duet_redis_up", "1 while this instance is connected to Redis.", c->redis_up(),
              "gauge");
        gauge("duet_redis_reconnects_total", "Times the Redis connection came back.",
              c->redis_reconnects(), "counter");
        gauge("duet_cluster_relayed_remote_total",
              "Signals sent through Redis to a member on another instance.",
              c->relayed_remote_total(), "counter");
        gauge("duet_cluster_members_reaped_total",
              "Members of stopped instances whose seats this instance held for a resume.",
              c->reaped_total(), "counter");
    }
    gauge("duet_connections", "Open WebSocket connections.", conns_.size(), "gauge");
    gauge("duet_connections_total", "WebSocket connections accepted.", connections_total_,
          "counter");
    gauge("duet_messages_relayed_total", "Signal messages relayed between peers.", relayed_total_,
          "counter");
    gauge("duet_origin_refused_total", "WebSocket upgrades refused for their Origin.",
          origin_refused_total_, "counter");
    if (acceptor_) {
        const auto &a = acceptor_->counters();
        gauge("duet_tcp_connections", "Open TCP connections, HTTP and WebSocket.",
              acceptor_->open(), "gauge");
        gauge("duet_max_connections", "The --max-connections cap.", config_.max_connections,
              "gauge");
        gauge("duet_accepting", "1 while the listener accepts, 0 while accept() fails.",
              acceptor_->paused() ? 0 : 1, "gauge");
        gauge("duet_accept_errors_total", "Failed accept() calls (descriptors exhausted...).",
              a.accept_errors, "counter");
        gauge("duet_http_timeouts_total",
              "Connections closed for not completing a request in --http-timeout.", a.timed_out,
              "counter");
        out += "# HELP duet_connections_refused_total Connections answered with an error "
               "status before any handler, by reason.\n"
               "# TYPE duet_connections_refused_total counter\n";
        for (auto [reason, n] :
             {std::pair{"max-connections", a.refused_busy}, std::pair{"per-ip", a.refused_per_ip},
              std::pair{"headers-too-large", a.head_too_large},
              std::pair{"unanswered", a.dropped_at_once}})
            out += std::string("duet_connections_refused_total{reason=\"") + reason + "\"} " +
                   std::to_string(n) + "\n";
    }
    out += "# HELP duet_errors_total Errors sent to clients or connections closed, by code.\n"
           "# TYPE duet_errors_total counter\n";
    for (const auto &[code, n] : errors_total_)
        out += "duet_errors_total{code=\"" + code + "\"} " + std::to_string(n) + "\n";
    return out;
}

} // namespace duet::signaling
