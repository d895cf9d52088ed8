// SPDX-License-Identifier: MIT
// duet-server's options, declared once: flags, --config keys, ranges and checks.
#include "options.h"

#include "common/ref.h"
#include "common/options.h"
#include "redis_client.h"

namespace duet::signaling {
namespace {

using namespace duet::options;

// The bounds the messages quote. They catch typos (an extra zero) rather than limit
// real deployments.
constexpr int kMaxPort = 65535;
constexpr int kMaxPeersPerRoom = 1000;
constexpr int kMaxSeconds = 86400; // a day: --resume-grace, --join-timeout, --lobby-timeout
constexpr int kMaxMessageRate = 100000;
constexpr int kMaxTurnTtl = 7 * 86400;
constexpr int kMaxConnectionsPerIp = 1000000;
constexpr int kMaxConnections = 100000000;
constexpr int kMaxHttpTimeout = 3600;
// An SDP offer with many candidates is a few KiB. The ws hub's decoder holds a message
// whole until its last frame (ws_frame.h), so this also bounds what one connection can
// make the server buffer: 1 MiB each is already a lot across thousands of sockets.
constexpr int kMinMessageBytes = 1024;
constexpr int kMaxMessageBytes = 1024 * 1024;
constexpr int kMaxDnsName = 253;

Result<void> read_secret(const std::string &path, std::string &out) {
    gchar *text = nullptr;
    GErr err;
    if (!g_file_get_contents(path.c_str(), &text, nullptr, err.out()))
        return fail("cannot read --turn-secret-file: " + std::string(err.message()));
    out = g_strstrip(text);
    g_free(text);
    if (out.empty())
        return fail("--turn-secret-file " + path + " is empty");
    return {};
}

// Stores each item of a list once `check` has passed it (and perhaps rewritten it).
Setter each(std::vector<std::string> &out, std::function<Result<void>(std::string &)> check) {
    return [&out, check](const Value &v) -> Result<void> {
        for (std::string item : v.list) {
            if (auto ok = check(item); !ok)
                return ok;
            out.push_back(std::move(item));
        }
        return {};
    };
}

Result<void> check_origin(std::string &origin) {
    while (!origin.empty() && origin.back() == '/')
        origin.pop_back();
    if (!g_str_has_prefix(origin.c_str(), "http://") &&
        !g_str_has_prefix(origin.c_str(), "https://"))
        return fail("--allow-origin must look like https://host[:port], got '" + origin + "'");
    return {};
}

// A bare host name, as it appears in the browser's address bar before any port.
Result<void> check_server_name(std::string &name) {
    bool ok = !name.empty() && name.size() <= kMaxDnsName;
    for (char ch : name)
        ok = ok && (g_ascii_isalnum(ch) || ch == '-' || ch == '.' || ch == '_');
    if (!ok)
        return fail("--server-name must be a DNS name such as duet.example.org (no scheme, "
                    "port or path), got '" +
                    name + "'");
    return {};
}

// "--stun-uri must start with stun: or stuns:, got '...'"
std::function<Result<void>(std::string &)> scheme_check(const char *flag, const char *scheme) {
    return [flag, scheme](std::string &uri) -> Result<void> {
        std::string plain = std::string(scheme) + ":", secure = std::string(scheme) + "s:";
        if (uri.rfind(plain, 0) != 0 && uri.rfind(secure, 0) != 0)
            return fail(std::string("--") + flag + " must start with " + plain + " or " + secure +
                        ", got '" + uri + "'");
        return {};
    };
}

// Values no flag maps onto one ServerConfig field, checked after the table.
struct Extra {
    std::string turn_secret_file;
};

std::vector<Option> server_table(ServerConfig &c, Extra &x) {
    RegistryConfig &r = c.registry;
    return {
        text("host", "Address to listen on (default 127.0.0.1)", "ADDR", into(c.host)),
        integer("port", 0, kMaxPort, "TCP port, 0 picks a free one (default 8080)", "PORT",
                into(c.port)),
        integer("max-peers", 1, kMaxPeersPerRoom, "People per room (default 2)", "N",
                into(r.max_peers)),
        integer("resume-grace", 0, kMaxSeconds,
                "Seconds a dropped person's seat is held for them (default 30)", "SECONDS",
                [&r](const Value &v) -> Result<void> {
                    r.resume_grace = std::chrono::seconds(v.number);
                    return {};
                }),
        integer("lobby-timeout", 1, kMaxSeconds,
                "Seconds someone asking to join waits for an answer before being told nobody "
                "answered (default 60)",
                "SECONDS",
                [&r](const Value &v) -> Result<void> {
                    r.lobby_timeout = std::chrono::seconds(v.number);
                    return {};
                }),
        integer("join-timeout", 1, kMaxSeconds,
                "Close sockets that are in no room for this long (default 60)", "SECONDS",
                into(c.join_timeout_seconds)),
        integer("max-message-rate", 1, kMaxMessageRate,
                "Messages per second one socket may send before it is closed (default 50)", "N",
                [&c](const Value &v) -> Result<void> {
                    c.rate_per_second = double(v.number);
                    c.rate_burst = 4.0 * double(v.number);
                    return {};
                }),
        integer("max-connections-per-ip", 1, kMaxConnectionsPerIp,
                "Open connections (HTTP or WebSocket) allowed from one address (default 64)", "N",
                into(c.max_connections_per_ip)),
        integer("max-connections", 1, kMaxConnections,
                "Open connections in all; more get 503 (default: the descriptor limit less 64)",
                "N", into(c.max_connections)),
        integer("http-timeout", 1, kMaxHttpTimeout,
                "Close a connection whose request is not complete after this long (default 10)",
                "SECONDS", into(c.http_timeout_seconds)),
        list("server-name",
             "A DNS name this server is reached by; pages from it may open WebSockets "
             "(repeatable; IP addresses and localhost need none)",
             "NAME", each(c.server_names, check_server_name)),
        integer("max-message-size", kMinMessageBytes, kMaxMessageBytes,
                "Largest message in bytes; larger ones close the socket with 1009 (default 65536)",
                "BYTES", into(c.max_message_bytes)),
        filename("tls-cert", "PEM certificate (chain): serve https and wss", "FILE",
                 into(c.tls_cert_file)),
        filename("tls-key", "PEM private key for --tls-cert", "FILE", into(c.tls_key_file)),
        list("allow-origin", "Also accept WebSocket upgrades from this origin (repeatable)",
             "ORIGIN", each(c.allowed_origins, check_origin)),
        list("stun-uri", "STUN server for clients, e.g. stun:stun.example.org:3478 (repeatable)",
             "URI", each(c.stun_uris, scheme_check("stun-uri", "stun"))),
        list("turn-uri", "TURN server for clients, e.g. turn:turn.example.org:3478 (repeatable)",
             "URI", each(c.turn_uris, scheme_check("turn-uri", "turn"))),
        filename("turn-secret-file",
                 "File holding the TURN REST API shared secret (coturn static-auth-secret)", "FILE",
                 into(x.turn_secret_file)),
        integer("turn-ttl", 1, kMaxTurnTtl, "Lifetime of TURN credentials (default 3600)",
                "SECONDS", into(c.turn_ttl_seconds)),
        text("redis",
             "Share rooms with other duet-server instances through Redis: "
             "redis://[[USER]:PASSWORD@]HOST[:PORT][/DB] or unix:PATH[?db=N&password=P] "
             "(default: rooms in this process only)",
             "URL", [&c](const Value &v) -> Result<void> {
                 if (auto url = redis::parse_url(v.text); !url)
                     return fail("--redis: " + url.message());
                 c.redis_url = v.text;
                 return {};
             }),
    };
}

const Program kServer{"server", "- duet room server",
                      "Serves the duet browser client and relays signaling between the people "
                      "in each room."};

} // namespace

Result<ServerConfig> parse_server_options(const std::vector<std::string> &args) {
    ServerConfig c;
    Extra x;
    if (auto parsed = options::parse(kServer, server_table(c, x), args); !parsed)
        return parsed.error();
    if (c.tls_cert_file.empty() != c.tls_key_file.empty())
        return fail("--tls-cert and --tls-key go together");
    if (!c.turn_uris.empty() && x.turn_secret_file.empty())
        return fail("--turn-uri needs --turn-secret-file");
    if (!x.turn_secret_file.empty())
        if (auto read = read_secret(x.turn_secret_file, c.turn_secret); !read)
            return read.error();
    return c;
}

} // namespace duet::signaling
