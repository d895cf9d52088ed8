// SPDX-License-Identifier: MIT
// RTCIceServer parsing: `urls` may be a string or an array; TURN needs username/credential.
#include "src/peer/ice_servers.h"

#include "common/ref.h"

#include <json-glib/json-glib.h>

namespace duet::peer {
namespace {

std::string escape(const char *s) {
    gchar *e = g_uri_escape_string(s ? s : "", nullptr, FALSE);
    std::string out(e);
    g_free(e);
    return out;
}

void add_url(IceConfig &cfg, const std::string &url, const char *user, const char *pass) {
    auto after = [&](const char *prefix) { return url.substr(std::string(prefix).size()); };
    if (url.rfind("stun:", 0) == 0) {
        if (cfg.stun.empty())
            cfg.stun = "stun://" + after("stun:");
        return;
    }
    bool turns = url.rfind("turns:", 0) == 0;
    if (turns || url.rfind("turn:", 0) == 0) {
        if (!user || !pass) {
            g_message("iceServers: %s has no username/credential; skipped", url.c_str());
            return;
        }
        cfg.turns.push_back(std::string(turns ? "turns://" : "turn://") + escape(user) + ":" +
                            escape(pass) + "@" + after(turns ? "turns:" : "turn:"));
        return;
    }
    g_message("iceServers: unsupported URL %s; skipped", url.c_str());
}

} // namespace

IceConfig parse_ice_servers(const std::string &json) {
    IceConfig cfg;
    auto parser = Ref<JsonParser>::adopt(json_parser_new());
    if (!json_parser_load_from_data(parser.get(), json.c_str(), gssize(json.size()), nullptr))
        return cfg;
    JsonNode *root = json_parser_get_root(parser.get());
    if (!root || !JSON_NODE_HOLDS_ARRAY(root))
        return cfg;
    JsonArray *servers = json_node_get_array(root);
    for (guint i = 0; i < json_array_get_length(servers); ++i) {
        JsonNode *n = json_array_get_element(servers, i);
        if (!JSON_NODE_HOLDS_OBJECT(n))
            continue;
        JsonObject *o = json_node_get_object(n);
        auto str = [&](const char *name) -> const char * {
            JsonNode *m = json_object_get_member(o, name);
            return m && JSON_NODE_HOLDS_VALUE(m) && json_node_get_value_type(m) == G_TYPE_STRING
                       ? json_node_get_string(m)
                       : nullptr;
        };
        const char *user = str("username"), *pass = str("credential");
        JsonNode *urls = json_object_get_member(o, "urls");
        if (!urls)
            continue;
        if (const char *single = str("urls")) {
            add_url(cfg, single, user, pass);
        } else if (JSON_NODE_HOLDS_ARRAY(urls)) {
            JsonArray *a = json_node_get_array(urls);
            for (guint j = 0; j < json_array_get_length(a); ++j) {
                JsonNode *u = json_array_get_element(a, j);
                if (JSON_NODE_HOLDS_VALUE(u) && json_node_get_value_type(u) == G_TYPE_STRING)
                    add_url(cfg, json_node_get_string(u), user, pass);
            }
        }
    }
    return cfg;
}

} // namespace duet::peer
