// SPDX-License-Identifier: MIT
#include "src/peer/commands.h"

#include <glib.h>
#include <json-glib/json-glib.h>

#include <string>

namespace duet::peer {
namespace {

constexpr std::size_t kMaxIdChars = 64;

Result<proto::ClientMessage> answer(const std::string &verb, std::string id) {
    if (id.empty() || id.size() > kMaxIdChars)
        return fail("'" + verb + "' needs the id of an admit-request event");
    for (char c : id)
        if (!g_ascii_isalnum(c) && c != '-' && c != '_')
            return fail("'" + id + "' is not an admit-request id");
    if (verb == "admit")
        return proto::ClientMessage{proto::Admit{std::move(id)}};
    return proto::ClientMessage{proto::Decline{std::move(id)}};
}

Result<proto::ClientMessage> from_json(const std::string &text) {
    JsonParser *parser = json_parser_new();
    Result<proto::ClientMessage> out = fail("not a command: expected {\"admit\":\"ID\"} or "
                                            "{\"decline\":\"ID\"}");
    if (json_parser_load_from_data(parser, text.c_str(), gssize(text.size()), nullptr)) {
        JsonNode *root = json_parser_get_root(parser);
        JsonObject *o = root && JSON_NODE_HOLDS_OBJECT(root) ? json_node_get_object(root) : nullptr;
        for (const char *verb : {"admit", "decline"}) {
            JsonNode *n = o ? json_object_get_member(o, verb) : nullptr;
            if (n && JSON_NODE_HOLDS_VALUE(n) && json_node_get_value_type(n) == G_TYPE_STRING)
                out = answer(verb, json_node_get_string(n));
        }
    }
    g_object_unref(parser);
    return out;
}

} // namespace

Result<proto::ClientMessage> parse_command(std::string_view line) {
    std::string text(line);
    text = g_strstrip(text.data());
    if (text.empty())
        return fail("empty line");
    if (text.front() == '{')
        return from_json(text);
    std::size_t space = text.find_first_of(" \t");
    std::string verb = text.substr(0, space);
    std::string rest = space == std::string::npos ? "" : text.substr(space + 1);
    rest = g_strstrip(rest.data());
    if (verb == "admit" || verb == "decline")
        return answer(verb, rest);
    return fail("unknown command '" + verb + "': use 'admit ID' or 'decline ID'");
}

} // namespace duet::peer
