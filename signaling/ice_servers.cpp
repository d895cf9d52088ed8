// SPDX-License-Identifier: MIT
// Per-peer ICE servers: TURN REST API credentials (coturn's use-auth-secret) from the
// shared secret, so no long-lived TURN password ever reaches a browser.
#include "ice_servers.h"

#include "protocol.h"

namespace duet::signaling {

std::string ice_servers_for(const ServerConfig &config, const std::string &peer_id,
                            gint64 now_unix_seconds) {
    std::string out = "[";
    for (const auto &u : config.stun_uris) {
        if (out.size() > 1)
            out += ',';
        out += "{\"urls\":";
        proto::append_json_string(out, u);
        out += '}';
    }
    if (!config.turn_uris.empty() && !config.turn_secret.empty()) {
        std::string username =
            std::to_string(now_unix_seconds + gint64(config.turn_ttl_seconds)) + ":" + peer_id;
        GHmac *hmac =
            g_hmac_new(G_CHECKSUM_SHA1, reinterpret_cast<const guchar *>(config.turn_secret.data()),
                       config.turn_secret.size());
        g_hmac_update(hmac, reinterpret_cast<const guchar *>(username.data()),
                      gssize(username.size()));
        guint8 digest[20];
        gsize len = sizeof digest;
        g_hmac_get_digest(hmac, digest, &len);
        g_hmac_unref(hmac);
        gchar *password = g_base64_encode(digest, len);
        if (out.size() > 1)
            out += ',';
        out += "{\"urls\":[";
        for (std::size_t i = 0; i < config.turn_uris.size(); ++i) {
            if (i)
                out += ',';
            proto::append_json_string(out, config.turn_uris[i]);
        }
        out += "],\"username\":";
        proto::append_json_string(out, username);
        out += ",\"credential\":";
        proto::append_json_string(out, password);
        out += '}';
        g_free(password);
    }
    out += ']';
    return out;
}

} // namespace duet::signaling
