// SPDX-License-Identifier: MIT
// Command-line and key-file parsing for duet-server.
#include "options.h"

#include "common/gobj.h"

#include <cstring>
#include <memory>

namespace duet::signaling {
namespace {

// Values as GOption writes them; strings and arrays are g_free'd by Parsed's destructor.
struct Raw {
    gchar *config = nullptr, *host = nullptr, *tls_cert = nullptr, *tls_key = nullptr,
          *turn_secret_file = nullptr;
    gint port = -1, max_peers = -1, grace = -1, join_timeout = -1, rate = -1, turn_ttl = -1,
         per_ip = -1, max_message = -1, max_connections = -1, http_timeout = -1;
    gchar **allow_origin = nullptr, **stun = nullptr, **turn = nullptr, **server_name = nullptr;
    ~Raw() {
        for (gchar *s : {config, host, tls_cert, tls_key, turn_secret_file})
            g_free(s);
        for (gchar **v : {allow_origin, stun, turn, server_name})
            g_strfreev(v);
    }
};

bool read_secret(const std::string &path, std::string *out, std::string *error) {
    gchar *text = nullptr;
    GErr err;
    if (!g_file_get_contents(path.c_str(), &text, nullptr, err.out())) {
        *error = "cannot read --turn-secret-file: " + std::string(err.message());
        return false;
    }
    *out = g_strstrip(text);
    g_free(text);
    if (out->empty()) {
        *error = "--turn-secret-file " + path + " is empty";
        return false;
    }
    return true;
}

// Key-file values fill only what the command line left unset.
bool apply_key_file(const char *path, Raw &raw, std::string *error) {
    auto kf =
        std::unique_ptr<GKeyFile, decltype(&g_key_file_free)>(g_key_file_new(), g_key_file_free);
    GErr err;
    if (!g_key_file_load_from_file(kf.get(), path, G_KEY_FILE_NONE, err.out())) {
        *error = std::string("cannot read --config ") + path + ": " + err.message();
        return false;
    }
    const char *group = "server";
    gsize nkeys = 0;
    gchar **keys = g_key_file_get_keys(kf.get(), group, &nkeys, nullptr);
    bool ok = true;
    for (gsize i = 0; keys && i < nkeys && ok; ++i) {
        const char *k = keys[i];
        struct StrKey {
            const char *name;
            gchar **slot;
        } strs[] = {{"host", &raw.host},
                    {"tls-cert", &raw.tls_cert},
                    {"tls-key", &raw.tls_key},
                    {"turn-secret-file", &raw.turn_secret_file}};
        struct IntKey {
            const char *name;
            gint *slot;
        } ints[] = {{"port", &raw.port},
                    {"max-peers", &raw.max_peers},
                    {"resume-grace", &raw.grace},
                    {"join-timeout", &raw.join_timeout},
                    {"max-message-rate", &raw.rate},
                    {"turn-ttl", &raw.turn_ttl},
                    {"max-connections-per-ip", &raw.per_ip},
                    {"max-message-size", &raw.max_message},
                    {"max-connections", &raw.max_connections},
                    {"http-timeout", &raw.http_timeout}};
        struct ListKey {
            const char *name;
            gchar ***slot;
        } lists[] = {{"allow-origin", &raw.allow_origin},
                     {"stun-uri", &raw.stun},
                     {"turn-uri", &raw.turn},
                     {"server-name", &raw.server_name}};
        bool known = false;
        for (auto &s : strs)
            if (!std::strcmp(k, s.name)) {
                known = true;
                if (!*s.slot)
                    *s.slot = g_key_file_get_string(kf.get(), group, k, nullptr);
            }
        for (auto &n : ints)
            if (!std::strcmp(k, n.name)) {
                known = true;
                GErr e;
                gint v = g_key_file_get_integer(kf.get(), group, k, e.out());
                if (e) {
                    *error = std::string("--config: ") + k + ": " + e.message();
                    ok = false;
                } else if (*n.slot < 0) {
                    *n.slot = v;
                }
            }
        for (auto &l : lists)
            if (!std::strcmp(k, l.name)) {
                known = true;
                if (!*l.slot)
                    *l.slot = g_key_file_get_string_list(kf.get(), group, k, nullptr, nullptr);
            }
        if (!known && ok) {
            *error = std::string("--config: unknown key '") + k + "' in [server]";
            ok = false;
        }
    }
    g_strfreev(keys);
    return ok;
}

} // namespace

OptionsResult parse_server_options(int argc, char **argv, ServerConfig &config,
                                   std::string *error) {
    Raw raw;
    GOptionEntry entries[] = {
        {"config", 0, 0, G_OPTION_ARG_FILENAME, &raw.config,
         "Read settings from a key-file ([server] group, keys as the long flags)", "FILE"},
        {"host", 0, 0, G_OPTION_ARG_STRING, &raw.host, "Address to listen on (default 127.0.0.1)",
         "ADDR"},
        {"port", 0, 0, G_OPTION_ARG_INT, &raw.port, "TCP port, 0 picks a free one (default 8080)",
         "PORT"},
        {"max-peers", 0, 0, G_OPTION_ARG_INT, &raw.max_peers, "People per room (default 2)", "N"},
        {"resume-grace", 0, 0, G_OPTION_ARG_INT, &raw.grace,
         "Seconds a dropped person's seat is held for them (default 30)", "SECONDS"},
        {"join-timeout", 0, 0, G_OPTION_ARG_INT, &raw.join_timeout,
         "Close sockets that are in no room for this long (default 60)", "SECONDS"},
        {"max-message-rate", 0, 0, G_OPTION_ARG_INT, &raw.rate,
         "Messages per second one socket may send before it is closed (default 50)", "N"},
        {"max-connections-per-ip", 0, 0, G_OPTION_ARG_INT, &raw.per_ip,
         "Open connections (HTTP or WebSocket) allowed from one address (default 64)", "N"},
        {"max-connections", 0, 0, G_OPTION_ARG_INT, &raw.max_connections,
         "Open connections in all; more get 503 (default: the descriptor limit less 64)", "N"},
        {"http-timeout", 0, 0, G_OPTION_ARG_INT, &raw.http_timeout,
         "Close a connection whose request is not complete after this long (default 10)",
         "SECONDS"},
        {"server-name", 0, 0, G_OPTION_ARG_STRING_ARRAY, &raw.server_name,
         "A DNS name this server is reached by; pages from it may open WebSockets "
         "(repeatable; IP addresses and localhost need none)",
         "NAME"},
        {"max-message-size", 0, 0, G_OPTION_ARG_INT, &raw.max_message,
         "Largest message in bytes; larger ones close the socket with 1009 (default 65536)",
         "BYTES"},
        {"tls-cert", 0, 0, G_OPTION_ARG_FILENAME, &raw.tls_cert,
         "PEM certificate (chain): serve https and wss", "FILE"},
        {"tls-key", 0, 0, G_OPTION_ARG_FILENAME, &raw.tls_key, "PEM private key for --tls-cert",
         "FILE"},
        {"allow-origin", 0, 0, G_OPTION_ARG_STRING_ARRAY, &raw.allow_origin,
         "Also accept WebSocket upgrades from this origin (repeatable)", "ORIGIN"},
        {"stun-uri", 0, 0, G_OPTION_ARG_STRING_ARRAY, &raw.stun,
         "STUN server for clients, e.g. stun:stun.example.org:3478 (repeatable)", "URI"},
        {"turn-uri", 0, 0, G_OPTION_ARG_STRING_ARRAY, &raw.turn,
         "TURN server for clients, e.g. turn:turn.example.org:3478 (repeatable)", "URI"},
        {"turn-secret-file", 0, 0, G_OPTION_ARG_FILENAME, &raw.turn_secret_file,
         "File holding the TURN REST API shared secret (coturn static-auth-secret)", "FILE"},
        {"turn-ttl", 0, 0, G_OPTION_ARG_INT, &raw.turn_ttl,
         "Lifetime of TURN credentials (default 3600)", "SECONDS"},
        {}};
    auto ctx = std::unique_ptr<GOptionContext, decltype(&g_option_context_free)>(
        g_option_context_new("- duet room server"), g_option_context_free);
    g_option_context_set_summary(ctx.get(), "Serves the duet browser client and relays "
                                            "signalling between the people in each room.");
    g_option_context_add_main_entries(ctx.get(), entries, nullptr);
    GErr err;
    if (!g_option_context_parse(ctx.get(), &argc, &argv, err.out())) {
        *error = err.message();
        return OptionsResult::UsageError;
    }
    if (argc > 1) {
        *error = std::string("unexpected argument '") + argv[1] + "'";
        return OptionsResult::UsageError;
    }
    if (raw.config && !apply_key_file(raw.config, raw, error))
        return OptionsResult::UsageError;

    if (raw.host)
        config.host = raw.host;
    auto set_int = [&](gint v, const char *name, gint lo, gint hi, auto apply) {
        if (v < 0)
            return true;
        if (v < lo || v > hi) {
            *error = std::string("--") + name + " must be " + std::to_string(lo) + ".." +
                     std::to_string(hi);
            return false;
        }
        apply(v);
        return true;
    };
    if (!set_int(raw.port, "port", 0, 65535, [&](gint v) { config.port = v; }) ||
        !set_int(raw.max_peers, "max-peers", 1, 1000,
                 [&](gint v) { config.registry.max_peers = std::size_t(v); }) ||
        !set_int(raw.grace, "resume-grace", 0, 86400,
                 [&](gint v) { config.registry.resume_grace = std::chrono::seconds(v); }) ||
        !set_int(raw.join_timeout, "join-timeout", 1, 86400,
                 [&](gint v) { config.join_timeout_seconds = unsigned(v); }) ||
        !set_int(raw.rate, "max-message-rate", 1, 100000,
                 [&](gint v) {
                     config.rate_per_second = v;
                     config.rate_burst = 4.0 * v;
                 }) ||
        !set_int(raw.turn_ttl, "turn-ttl", 1, 7 * 86400,
                 [&](gint v) { config.turn_ttl_seconds = unsigned(v); }) ||
        !set_int(raw.per_ip, "max-connections-per-ip", 1, 1000000,
                 [&](gint v) { config.max_connections_per_ip = unsigned(v); }) ||
        !set_int(raw.max_connections, "max-connections", 1, 100000000,
                 [&](gint v) { config.max_connections = unsigned(v); }) ||
        !set_int(raw.http_timeout, "http-timeout", 1, 3600,
                 [&](gint v) { config.http_timeout_seconds = unsigned(v); }) ||
        // An SDP offer with many candidates is a few KiB; 1 MiB is libsoup's hard cap here.
        !set_int(raw.max_message, "max-message-size", 1024, 1024 * 1024,
                 [&](gint v) { config.max_message_bytes = std::size_t(v); }))
        return OptionsResult::UsageError;

    if (bool(raw.tls_cert) != bool(raw.tls_key)) {
        *error = "--tls-cert and --tls-key go together";
        return OptionsResult::UsageError;
    }
    if (raw.tls_cert) {
        config.tls_cert_file = raw.tls_cert;
        config.tls_key_file = raw.tls_key;
    }
    for (gchar **o = raw.allow_origin; o && *o; ++o) {
        std::string origin = *o;
        while (!origin.empty() && origin.back() == '/')
            origin.pop_back();
        if (!g_str_has_prefix(origin.c_str(), "http://") &&
            !g_str_has_prefix(origin.c_str(), "https://")) {
            *error = "--allow-origin must look like https://host[:port], got '" + origin + "'";
            return OptionsResult::UsageError;
        }
        config.allowed_origins.push_back(origin);
    }
    for (gchar **n = raw.server_name; n && *n; ++n) {
        // A bare host name, as it appears in the browser's address bar before any port.
        std::string name = *n;
        bool ok = !name.empty() && name.size() <= 253;
        for (char ch : name)
            ok = ok && (g_ascii_isalnum(ch) || ch == '-' || ch == '.' || ch == '_');
        if (!ok) {
            *error = "--server-name must be a DNS name such as duet.example.org (no scheme, "
                     "port or path), got '" +
                     name + "'";
            return OptionsResult::UsageError;
        }
        config.server_names.push_back(name);
    }
    for (gchar **u = raw.stun; u && *u; ++u) {
        if (!g_str_has_prefix(*u, "stun:") && !g_str_has_prefix(*u, "stuns:")) {
            *error = std::string("--stun-uri must start with stun: or stuns:, got '") + *u + "'";
            return OptionsResult::UsageError;
        }
        config.stun_uris.emplace_back(*u);
    }
    for (gchar **u = raw.turn; u && *u; ++u) {
        if (!g_str_has_prefix(*u, "turn:") && !g_str_has_prefix(*u, "turns:")) {
            *error = std::string("--turn-uri must start with turn: or turns:, got '") + *u + "'";
            return OptionsResult::UsageError;
        }
        config.turn_uris.emplace_back(*u);
    }
    if (!config.turn_uris.empty() && !raw.turn_secret_file) {
        *error = "--turn-uri needs --turn-secret-file";
        return OptionsResult::UsageError;
    }
    if (raw.turn_secret_file && !read_secret(raw.turn_secret_file, &config.turn_secret, error))
        return OptionsResult::UsageError;
    return OptionsResult::Ok;
}

} // namespace duet::signaling
