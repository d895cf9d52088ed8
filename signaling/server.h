// SPDX-License-Identifier: MIT
// duet-server's transport: libsoup HTTP + WebSocket glue around the pure room registry.
#pragma once

#include "acceptor.h"
#include "cluster.h"
#include "registry.h"
#include "ws_hub.h"

#include "common/main_thread.h"
#include "common/ref.h"
#include "common/result.h"

#include <libsoup/soup.h>

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace duet::signaling {

struct ServerConfig {
    std::string host = "127.0.0.1";
    int port = 8080;
    // TLS: when both are set the server speaks https and wss only.
    std::string tls_cert_file;
    std::string tls_key_file;
    // Origins (scheme://host[:port]) allowed to open the WebSocket besides the server's own.
    // Requests with no Origin (native clients) are allowed; browsers always send one.
    std::vector<std::string> allowed_origins;
    // Host names this server is reached by (--server-name). A page's origin counts as the
    // server's own only when its host is one of these, an IP literal or "localhost": the
    // Host header alone proves nothing, since DNS rebinding lets any site choose it.
    std::vector<std::string> server_names;
    // ICE servers handed to every peer in `joined`.
    std::vector<std::string> stun_uris;
    std::vector<std::string> turn_uris;
    std::string turn_secret; // shared with coturn's static-auth-secret
    unsigned turn_ttl_seconds = 3600;
    RegistryConfig registry;
    // Share rooms with other instances through Redis (redis://..., unix:...); empty: this
    // server keeps its rooms in memory, alone.
    std::string redis_url;
    // Signaling frames are SDP at most (a few KiB); anything over this is abuse. It is
    // refused with a clean 1009 close whatever its size: the rest of the frame is read and
    // thrown away rather than left unread (which would make the kernel reset the
    // connection before the client saw the 1009).
    std::size_t max_message_bytes = 64 * 1024;
    // A connection silent this long is pinged: keeps NAT bindings and proxies from dropping
    // idle calls, and gives TCP_USER_TIMEOUT unacknowledged data to time out on.
    unsigned keepalive_seconds = 5;
    // A peer silent this long (no pong either) is gone (cable pulled, laptop shut): its
    // connection is dropped and its seat held for a resume. The kernel's TCP_USER_TIMEOUT
    // is set to the same, for data we sent that is never acknowledged.
    unsigned dead_peer_seconds = 10;
    // Sockets that are not in a room are closed after this long, so idle connections
    // cannot pile up. A browser reconnects when it needs to join again.
    unsigned join_timeout_seconds = 60;
    // Open connections (HTTP or WebSocket) per client address. Generous because an office
    // or school may share one public address; low enough that one host cannot take every
    // file descriptor.
    unsigned max_connections_per_ip = 64;
    // Open connections in all; more get a fast 503. 0: the descriptor limit
    // (RLIMIT_NOFILE) less kFdReserve, so the server keeps descriptors for its own files,
    // its logs and the answers to refused connections, and accept() never runs dry.
    unsigned max_connections = 0;
    // A connection must deliver its whole request head within this, like nginx's
    // client_header_timeout; a slow client (slowloris) is closed after it.
    unsigned http_timeout_seconds = 10;
    // Per-connection message rate. Call setup sends an SDP and a few dozen ICE candidates
    // at once, so the burst is generous; a steady flood beyond the rate is closed (1008).
    double rate_per_second = 50;
    double rate_burst = 200;
};

class Server : private ws::Hub::Listener {
  public:
    explicit Server(ServerConfig config);
    ~Server() override;
    Server(const Server &) = delete;
    Server &operator=(const Server &) = delete;

    // Binds and starts serving on the thread-default main context, or says why it cannot
    // (port in use, bad host, unreadable certificate).
    Result<void> start();
    // The URL actually bound (with the real port when --port 0 was given).
    std::string url() const { return url_; }
    // The effective global connection cap (after deriving the default).
    unsigned max_connections() const { return config_.max_connections; }
    // False once the listener has been unable to accept for `grace_us`: a watchdog should
    // stop vouching for the process, so that it is restarted.
    bool healthy(gint64 grace_us) const;
    // Descriptors kept out of --max-connections' default (see ServerConfig).
    static constexpr unsigned kFdReserve = 64;

  private:
    struct Conn;
    struct Upgrade;
    Result<void> listen();
    void upgrade(SoupServerMessage *msg);
    static void on_upgraded(SoupServerMessage *msg, gpointer upgrade);
    void on_message(ws::Conn &c, bool text, std::string &data) override;
    void on_closed(ws::Conn &c, std::uint16_t code) override;
    static void on_http(SoupServer *, SoupServerMessage *msg, const char *path, GHashTable *,
                        gpointer self);
    void on_text(Conn &c, std::string_view text);
    void apply(Effects &fx);
    void send(ConnId to, const std::string &text);
    void send_error(ConnId to, proto::ErrorCode code, std::string message);
    void tick();
    bool origin_allowed(SoupServerMessage *msg) const;
    std::string metrics() const;
    // Whether the connection is in a room (or joining, or waiting in a lobby).
    bool engaged(ConnId id) const;

    ServerConfig config_;
    Registry registry_;
    std::unique_ptr<Cluster> cluster_; // with --redis: rooms in Redis, registry_ unused
    Ref<SoupServer> soup_;
    std::unique_ptr<ws::Hub> hub_;
    std::unique_ptr<Acceptor> acceptor_;
    Ref<GSocket> listener_;
    guint expire_timer_ = 0; // on lifeline_'s context
    ConnId next_id_ = 1;
    std::unordered_map<ConnId, std::unique_ptr<Conn>> conns_;
    std::string url_;
    bool tls_ = false;

    // Counters for /metrics (Prometheus text format).
    guint64 connections_total_ = 0;
    guint64 relayed_total_ = 0;
    guint64 origin_refused_total_ = 0;
    std::unordered_map<std::string, guint64> errors_total_; // by wire code or close reason
    // The context the server was created on, which its timer attaches to.
    Lifeline lifeline_;
};

} // namespace duet::signaling
