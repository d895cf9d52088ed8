// SPDX-License-Identifier: MIT
#include "src/peer/chat.h"

#include "signaling/protocol.h"

#include <json-glib/json-glib.h>

namespace duet::peer {

Result<std::string> normalize_chat_text(std::string_view raw) {
    if (!g_utf8_validate(raw.data(), gssize(raw.size()), nullptr))
        return fail("the text is not UTF-8");
    // Trim white space (Unicode's, not only ASCII's) from both ends.
    const char *begin = raw.data();
    const char *end = raw.data() + raw.size();
    while (begin < end && g_unichar_isspace(g_utf8_get_char(begin)))
        begin = g_utf8_next_char(begin);
    while (end > begin) {
        const char *prev = g_utf8_find_prev_char(begin, end);
        if (!prev || !g_unichar_isspace(g_utf8_get_char(prev)))
            break;
        end = prev;
    }
    if (begin == end)
        return fail("the text is empty");
    glong chars = g_utf8_strlen(begin, end - begin);
    if (std::size_t(chars) > kMaxChatChars)
        return fail("the text has " + std::to_string(chars) + " characters, more than " +
                    std::to_string(kMaxChatChars));
    if (std::string_view(begin, std::size_t(end - begin)).find('\0') != std::string_view::npos)
        return fail("the text holds a NUL character");
    return std::string(begin, end);
}

std::string chat_message_json(const std::string &text, gint64 ts_ms) {
    std::string out = R"({"type":"chat","text":)";
    proto::append_json_string(out, text);
    out += ",\"ts\":" + std::to_string(ts_ms) + "}";
    return out;
}

Result<std::string> parse_chat_message(std::string_view json) {
    JsonParser *parser = json_parser_new();
    Result<std::string> out = fail("not JSON");
    if (json_parser_load_from_data(parser, json.data(), gssize(json.size()), nullptr)) {
        JsonNode *root = json_parser_get_root(parser);
        JsonObject *o = root && JSON_NODE_HOLDS_OBJECT(root) ? json_node_get_object(root) : nullptr;
        auto string_member = [o](const char *name) -> const char * {
            JsonNode *n = o ? json_object_get_member(o, name) : nullptr;
            return n && JSON_NODE_HOLDS_VALUE(n) && json_node_get_value_type(n) == G_TYPE_STRING
                       ? json_node_get_string(n)
                       : nullptr;
        };
        const char *type = string_member("type");
        const char *text = string_member("text");
        JsonNode *ts = o ? json_object_get_member(o, "ts") : nullptr;
        bool ts_ok = !ts || (JSON_NODE_HOLDS_VALUE(ts) &&
                             (json_node_get_value_type(ts) == G_TYPE_INT64 ||
                              json_node_get_value_type(ts) == G_TYPE_DOUBLE));
        if (!o)
            out = fail("not a JSON object");
        else if (!type || std::string_view(type) != "chat")
            out = fail("'type' is not \"chat\"");
        else if (!text)
            out = fail("'text' is missing or not a string");
        else if (!ts_ok)
            out = fail("'ts' is not a number");
        else if (auto t = normalize_chat_text(text); !t)
            out = fail(t.message());
        else
            out = std::move(t).value();
    }
    g_object_unref(parser);
    return out;
}

} // namespace duet::peer
