// SPDX-License-Identifier: MIT
// Parsing, validation and JSON output for the duet room protocol.
#include "protocol.h"

#include "common/ref.h"
#include "json_scan.h"

#include <json-glib/json-glib.h>

#include <cmath>
#include <cstring>

namespace duet::proto {
namespace {

// Deeper documents are refused before json-glib sees them: its parser recurses, and a
// 64 KiB frame of '[' would otherwise exhaust a worker thread's stack. Real messages nest 3.
using json::kMaxDepth;
// Far more media sections than any call has; a larger sdpMLineIndex is refused.
constexpr double kMaxMLineIndex = 1024;

struct Names {
    ErrorCode code;
    const char *name;
};
constexpr Names kErrorNames[] = {
    {ErrorCode::BadMessage, "bad-message"},       {ErrorCode::UnknownType, "unknown-type"},
    {ErrorCode::InvalidRoom, "invalid-room"},     {ErrorCode::RoomFull, "room-full"},
    {ErrorCode::AlreadyJoined, "already-joined"}, {ErrorCode::NotJoined, "not-joined"},
    {ErrorCode::UnknownPeer, "unknown-peer"},     {ErrorCode::PrivateRoom, "private-room"},
    {ErrorCode::RoomNotPrivate, "room-not-private"},
    {ErrorCode::TooManyAttempts, "too-many-attempts"},
    {ErrorCode::Declined, "declined"},
    {ErrorCode::LobbyTimeout, "lobby-timeout"},
    {ErrorCode::Unavailable, "unavailable"},
};

ParseError bad(std::string msg) {
    return ParseError{ErrorCode::BadMessage, std::move(msg)};
}

// Reads four hex digits at text[i..i+4); -1 if they are not there.
long hex4(std::string_view text, std::size_t i) {
    if (i + 4 > text.size())
        return -1;
    long v = 0;
    for (std::size_t k = i; k < i + 4; ++k) {
        int d = g_ascii_xdigit_value(text[k]);
        if (d < 0)
            return -1;
        v = v * 16 + d;
    }
    return v;
}

// One pass over the text before json-glib sees it, for two things json-glib does not do:
// - Depth: deeper documents are refused (kMaxDepth).
// - Strings: json-glib's scanner is more lenient than JSON inside them, and what it lets
//   through decodes to bytes that are not UTF-8 (octal "\222"; "\u" with fewer than four
//   hex digits; a lone UTF-16 surrogate) or to a NUL that its C strings cut short. Relayed
//   to the other member, such a string would break that member's text frame (a browser
//   closes the socket with 1007). So only JSON's own grammar passes: JSON's escapes, "\u"
//   with four hex digits, surrogates only in pairs, no NUL, and no raw control characters.
// Returns the reason for the first problem, or nullptr.
const char *lexical_problem(std::string_view text) {
    int depth = 0;
    bool in_string = false;
    for (std::size_t i = 0; i < text.size(); ++i) {
        unsigned char c = static_cast<unsigned char>(text[i]);
        if (!in_string) {
            if (c == '"')
                in_string = true;
            else if (c == '[' || c == '{') {
                if (++depth > kMaxDepth)
                    return "message nests too deeply";
            } else if (c == ']' || c == '}')
                --depth;
            continue;
        }
        if (c == '"') {
            in_string = false;
        } else if (c < 0x20) {
            return "message is not JSON: a control character inside a string";
        } else if (c == '\\') {
            if (++i == text.size())
                return "message is not JSON: unterminated string";
            char e = text[i];
            if (e != 'u') {
                if (e == '\0' || !std::strchr("\"\\/bfnrt", e))
                    return "message is not JSON: invalid escape in a string";
                continue;
            }
            long unit = hex4(text, i + 1);
            if (unit < 0)
                return "message is not JSON: \\u needs four hex digits";
            i += 4;
            if (unit == 0)
                return "NUL characters are not allowed";
            if (unit >= 0xDC00 && unit <= 0xDFFF)
                return "message is not JSON: a lone UTF-16 low surrogate";
            if (unit >= 0xD800 && unit <= 0xDBFF) {
                long low = i + 2 < text.size() && text[i + 1] == '\\' && text[i + 2] == 'u'
                               ? hex4(text, i + 3)
                               : -1;
                if (low < 0xDC00 || low > 0xDFFF)
                    return "message is not JSON: a UTF-16 high surrogate without its low half";
                i += 6;
            }
        }
    }
    return nullptr;
}

// json-glib reads a number beyond a double's range (1e999) as infinity and would write it
// back as "inf.0", which is not JSON: relayed, it breaks the receiver's JSON.parse (found by
// fuzzing). True if every number under `node` is finite. Depth is bounded by lexical_problem.
bool numbers_finite(JsonNode *node) {
    switch (JSON_NODE_TYPE(node)) {
    case JSON_NODE_VALUE:
        return json_node_get_value_type(node) != G_TYPE_DOUBLE ||
               std::isfinite(json_node_get_double(node));
    case JSON_NODE_ARRAY: {
        JsonArray *a = json_node_get_array(node);
        for (guint i = 0; i < json_array_get_length(a); ++i)
            if (!numbers_finite(json_array_get_element(a, i)))
                return false;
        return true;
    }
    case JSON_NODE_OBJECT: {
        JsonObjectIter it;
        const gchar *name = nullptr;
        JsonNode *member = nullptr;
        json_object_iter_init(&it, json_node_get_object(node));
        while (json_object_iter_next(&it, &name, &member))
            if (!numbers_finite(member))
                return false;
        return true;
    }
    case JSON_NODE_NULL:
        return true;
    }
    return true;
}

// Parses text into a JSON object node owned by the returned parser.
std::variant<Ref<JsonParser>, ParseError> parse_object(std::string_view text, JsonObject **out) {
    if (!g_utf8_validate_len(text.data(), text.size(), nullptr))
        return bad("message is not valid UTF-8");
    if (const char *why = lexical_problem(text))
        return bad(why);
    auto parser = Ref<JsonParser>::adopt(json_parser_new_immutable());
    GErr err;
    if (!json_parser_load_from_data(parser.get(), text.data(), gssize(text.size()), err.out()))
        return bad(std::string("message is not JSON: ") + err.message());
    JsonNode *root = json_parser_get_root(parser.get());
    if (!root || !JSON_NODE_HOLDS_OBJECT(root))
        return bad("message must be a JSON object");
    if (!numbers_finite(root))
        return bad("message is not JSON we can relay: a number too large for a double");
    *out = json_node_get_object(root);
    return parser;
}

// Field accessors that report a wrong type instead of asserting (json-glib's getters warn).
Result<std::string> get_string(JsonObject *o, const char *name) {
    JsonNode *n = json_object_get_member(o, name);
    if (!n)
        return fail(std::string("missing field '") + name + "'");
    if (!JSON_NODE_HOLDS_VALUE(n) || json_node_get_value_type(n) != G_TYPE_STRING)
        return fail(std::string("field '") + name + "' must be a string");
    return std::string(json_node_get_string(n));
}

bool has(JsonObject *o, const char *name) {
    return json_object_has_member(o, name);
}

Result<bool> get_bool(JsonObject *o, const char *name) {
    JsonNode *n = json_object_get_member(o, name);
    if (!n || !JSON_NODE_HOLDS_VALUE(n) || json_node_get_value_type(n) != G_TYPE_BOOLEAN)
        return fail(std::string("field '") + name + "' must be a boolean");
    return bool(json_node_get_boolean(n));
}

std::string node_to_json(JsonNode *n) {
    auto gen = Ref<JsonGenerator>::adopt(json_generator_new());
    json_generator_set_root(gen.get(), n);
    gchar *s = json_generator_to_data(gen.get(), nullptr);
    std::string out(s);
    g_free(s);
    return out;
}

// A signal's `data` object, as the JSON text that is relayed.
Result<std::string> signal_data(JsonObject *o) {
    JsonNode *data = json_object_get_member(o, "data");
    if (!data || !JSON_NODE_HOLDS_OBJECT(data))
        return fail("field 'data' must be an object");
    return node_to_json(data);
}

// Small writer for flat objects; keeps output allocation-light on the relay path.
class Obj {
  public:
    explicit Obj(const char *type) {
        s_ = "{\"type\":";
        append_json_string(s_, type);
    }
    Obj &str(const char *k, std::string_view v) {
        key(k);
        append_json_string(s_, v);
        return *this;
    }
    Obj &boolean(const char *k, bool v) {
        key(k);
        s_ += v ? "true" : "false";
        return *this;
    }
    Obj &raw(const char *k, std::string_view json) {
        key(k);
        s_ += json;
        return *this;
    }
    Obj &strings(const char *k, const std::vector<std::string> &v) {
        key(k);
        s_ += '[';
        for (std::size_t i = 0; i < v.size(); ++i) {
            if (i)
                s_ += ',';
            append_json_string(s_, v[i]);
        }
        s_ += ']';
        return *this;
    }
    Obj &string_map(const char *k, const std::vector<std::pair<std::string, std::string>> &v) {
        key(k);
        s_ += '{';
        for (std::size_t i = 0; i < v.size(); ++i) {
            if (i)
                s_ += ',';
            append_json_string(s_, v[i].first);
            s_ += ':';
            append_json_string(s_, v[i].second);
        }
        s_ += '}';
        return *this;
    }
    std::string done() {
        s_ += '}';
        return std::move(s_);
    }

  private:
    void key(const char *k) {
        s_ += ',';
        append_json_string(s_, k);
        s_ += ':';
    }
    std::string s_;
};

} // namespace

void append_json_string(std::string &out, std::string_view s) {
    out += '"';
    for (unsigned char c : s) {
        switch (c) {
        case '"':
            out += "\\\"";
            break;
        case '\\':
            out += "\\\\";
            break;
        case '\n':
            out += "\\n";
            break;
        case '\r':
            out += "\\r";
            break;
        case '\t':
            out += "\\t";
            break;
        default:
            if (c < 0x20) {
                char buf[8];
                g_snprintf(buf, sizeof buf, "\\u%04x", c);
                out += buf;
            } else {
                out += char(c);
            }
        }
    }
    out += '"';
}

const char *error_code_name(ErrorCode code) {
    for (const auto &n : kErrorNames)
        if (n.code == code)
            return n.name;
    return "bad-message";
}

std::optional<ErrorCode> error_code_from_name(std::string_view name) {
    for (const auto &n : kErrorNames)
        if (name == n.name)
            return n.code;
    return std::nullopt;
}

const char *leave_reason_name(LeaveReason r) {
    switch (r) {
    case LeaveReason::Left:
        return "left";
    case LeaveReason::Dropped:
        return "dropped";
    case LeaveReason::Expired:
        return "expired";
    }
    return "left";
}

namespace {

// An optional boolean field: `fallback` when absent, an error when not a boolean.
Result<bool> optional_bool(JsonObject *o, const char *name, bool fallback) {
    if (!has(o, name))
        return fallback;
    return get_bool(o, name);
}

// An optional string field: nothing when absent or null, an error when not a string.
Result<std::optional<std::string>> optional_string(JsonObject *o, const char *name) {
    if (!has(o, name) || JSON_NODE_HOLDS_NULL(json_object_get_member(o, name)))
        return std::optional<std::string>();
    auto v = get_string(o, name);
    if (!v)
        return fail(v.message());
    return std::optional<std::string>(std::move(*v));
}

} // namespace

bool valid_key(std::string_view key) {
    if (key.size() < kMinKeyChars || key.size() > kMaxKeyChars)
        return false;
    for (char c : key)
        if (!g_ascii_isalnum(c) && c != '-' && c != '_')
            return false;
    return true;
}

Parsed<ClientMessage> parse_client_json_glib(std::string_view text) {
    JsonObject *o = nullptr;
    auto parsed = parse_object(text, &o);
    if (auto *e = std::get_if<ParseError>(&parsed))
        return *e;
    auto type = get_string(o, "type");
    if (!type)
        return bad(type.message());
    if (*type == "join") {
        auto room = get_string(o, "room");
        if (!room)
            return bad(room.message());
        Join j{std::move(*room), std::nullopt};
        auto resume = optional_string(o, "resume");
        auto key = optional_string(o, "key");
        auto make_private = optional_bool(o, "private", false);
        if (!resume)
            return bad(resume.message());
        if (!key)
            return bad(key.message());
        if (!make_private)
            return bad(make_private.message());
        if (*key && !valid_key(**key))
            return bad("field 'key' must be " + std::to_string(kMinKeyChars) + "-" +
                       std::to_string(kMaxKeyChars) + " letters, digits, '-' or '_'");
        auto name = optional_string(o, "name");
        if (!name)
            return bad(name.message());
        if (*name) {
            // A display name follows the room-name rules: it is shown to people too.
            auto shown = normalize_room(**name);
            if (!shown)
                return bad("field 'name': " + shown.message());
            j.name = std::move(*shown);
        }
        j.resume = std::move(*resume);
        j.key = std::move(*key);
        j.make_private = *make_private;
        return ClientMessage{std::move(j)};
    }
    if (*type == "signal") {
        auto to = get_string(o, "to");
        if (!to)
            return bad(to.message());
        auto data = signal_data(o);
        if (!data)
            return bad(data.message());
        return ClientMessage{Signal{std::move(*to), std::move(*data)}};
    }
    if (*type == "leave")
        return ClientMessage{Leave{}};
    if (*type == "lobby") {
        auto on = get_bool(o, "on");
        if (!on)
            return bad(on.message());
        return ClientMessage{SetLobby{*on}};
    }
    if (*type == "admit" || *type == "decline") {
        auto id = get_string(o, "id");
        if (!id)
            return bad(id.message());
        if (*type == "admit")
            return ClientMessage{Admit{std::move(*id)}};
        return ClientMessage{Decline{std::move(*id)}};
    }
    return ParseError{ErrorCode::UnknownType, "unknown message type '" + *type + "'"};
}

std::string json_glib_object_problem(std::string_view text) {
    JsonObject *o = nullptr;
    auto parsed = parse_object(text, &o);
    if (auto *e = std::get_if<ParseError>(&parsed))
        return e->message;
    return {};
}

Parsed<ClientMessage> parse_client(std::string_view text) {
    // The fast path, for the message that is nearly all the traffic: one pass checks the
    // whole text and finds the members, and `data` is relayed as the bytes that arrived.
    json::Member members[] = {{"type", {}}, {"to", {}}, {"data", {}}};
    json::Problem problem = json::scan_object(text, members);
    if (!problem && members[0].kind() == '"' && json::string_equals(members[0].raw, "signal") &&
        members[1].kind() == '"' && members[2].kind() == '{')
        return ClientMessage{
            Signal{json::decode_string(members[1].raw), std::string(members[2].raw)}};
    // Everything else goes through json-glib, which also words the refusals as always.
    // What it takes that is not JSON (comments, single quotes, hex or "01" numbers, text
    // after the object, integers past a double's range) is refused all the same: a
    // signal's `data` goes on to the other member as it came, and must parse there.
    auto parsed = parse_client_json_glib(text);
    if (problem && std::holds_alternative<ClientMessage>(parsed))
        return bad(problem.message());
    return parsed;
}

namespace {
// Both ways, as kErrorNames: one table for writing and reading an admit-resolved outcome.
struct OutcomeName {
    AdmitOutcome outcome;
    const char *name;
};
constexpr OutcomeName kOutcomeNames[] = {
    {AdmitOutcome::Admitted, "admitted"},
    {AdmitOutcome::Declined, "declined"},
    {AdmitOutcome::TimedOut, "timeout"},
    {AdmitOutcome::Left, "left"},
};
} // namespace

const char *admit_outcome_name(AdmitOutcome o) {
    for (const auto &n : kOutcomeNames)
        if (n.outcome == o)
            return n.name;
    return "left";
}

namespace {

Parsed<ServerMessage> parse_joined(JsonObject *o) {
    Joined j;
    auto id = get_string(o, "id");
    auto room = get_string(o, "room");
    auto resume = get_string(o, "resume");
    // The last missing field is the one named, as it always was.
    for (const Result<std::string> *f : {&resume, &room, &id})
        if (!*f)
            return bad(f->message());
    j.id = *id;
    j.room = *room;
    j.resume = *resume;
    auto resumed = optional_bool(o, "resumed", j.resumed);
    if (!resumed)
        return bad(resumed.message());
    j.resumed = *resumed;
    auto is_private = optional_bool(o, "private", false);
    auto key = optional_string(o, "key");
    if (!is_private)
        return bad(is_private.message());
    if (!key)
        return bad(key.message());
    j.is_private = *is_private;
    j.key = key->value_or("");
    auto lobby = optional_bool(o, "lobby", false);
    if (!lobby)
        return bad(lobby.message());
    j.lobby = *lobby;
    JsonNode *peers = json_object_get_member(o, "peers");
    if (!peers || !JSON_NODE_HOLDS_ARRAY(peers))
        return bad("field 'peers' must be an array");
    JsonArray *a = json_node_get_array(peers);
    for (guint i = 0; i < json_array_get_length(a); ++i) {
        JsonNode *p = json_array_get_element(a, i);
        if (!JSON_NODE_HOLDS_VALUE(p) || json_node_get_value_type(p) != G_TYPE_STRING)
            return bad("'peers' must hold strings");
        j.peers.emplace_back(json_node_get_string(p));
    }
    JsonNode *ice = json_object_get_member(o, "iceServers");
    if (ice) {
        if (!JSON_NODE_HOLDS_ARRAY(ice))
            return bad("field 'iceServers' must be an array");
        j.ice_servers_json = node_to_json(ice);
    }
    // Servers before display names send no `names`.
    if (JsonNode *names = json_object_get_member(o, "names")) {
        if (!JSON_NODE_HOLDS_OBJECT(names))
            return bad("field 'names' must be an object");
        JsonObject *n = json_node_get_object(names);
        GList *members = json_object_get_members(n);
        std::string error;
        for (GList *m = members; m; m = m->next) {
            const char *id = static_cast<const char *>(m->data);
            JsonNode *v = json_object_get_member(n, id);
            if (!JSON_NODE_HOLDS_VALUE(v) || json_node_get_value_type(v) != G_TYPE_STRING) {
                error = "'names' must map ids to strings";
                break;
            }
            j.names.emplace_back(id, json_node_get_string(v));
        }
        g_list_free(members);
        if (!error.empty())
            return bad(error);
    }
    return ServerMessage{std::move(j)};
}

Parsed<ServerMessage> parse_peer_joined(JsonObject *o) {
    auto id = get_string(o, "id");
    if (!id)
        return bad(id.message());
    auto resumed = optional_bool(o, "resumed", false);
    if (!resumed)
        return bad(resumed.message());
    auto name = optional_string(o, "name");
    if (!name)
        return bad(name.message());
    return ServerMessage{PeerJoined{*id, *resumed, name->value_or("")}};
}

Parsed<ServerMessage> parse_peer_left(JsonObject *o) {
    auto id = get_string(o, "id");
    if (!id)
        return bad(id.message());
    PeerLeft p{*id, LeaveReason::Left};
    if (has(o, "reason")) {
        auto r = get_string(o, "reason");
        if (!r)
            return bad(r.message());
        if (*r == "dropped")
            p.reason = LeaveReason::Dropped;
        else if (*r == "expired")
            p.reason = LeaveReason::Expired;
    }
    return ServerMessage{std::move(p)};
}

Parsed<ServerMessage> parse_relayed(JsonObject *o) {
    auto from = get_string(o, "from");
    if (!from)
        return bad(from.message());
    auto data = signal_data(o);
    if (!data)
        return bad(data.message());
    return ServerMessage{Relayed{*from, std::move(*data)}};
}

Parsed<ServerMessage> parse_server_error(JsonObject *o) {
    auto code = get_string(o, "code");
    if (!code)
        return bad(code.message());
    auto message = get_string(o, "message");
    auto c = error_code_from_name(*code);
    if (!c)
        return bad("unknown error code '" + *code + "'");
    return ServerMessage{Error{*c, message ? *message : std::string()}};
}

Parsed<ServerMessage> parse_lobby_state(JsonObject *o) {
    auto on = get_bool(o, "on");
    if (!on)
        return bad(on.message());
    return ServerMessage{LobbyState{*on}};
}

Parsed<ServerMessage> parse_waiting(JsonObject *o) {
    auto room = get_string(o, "room");
    if (!room)
        return bad(room.message());
    return ServerMessage{Waiting{*room}};
}

Parsed<ServerMessage> parse_admit_request(JsonObject *o) {
    auto id = get_string(o, "id");
    if (!id)
        return bad(id.message());
    auto name = optional_string(o, "name");
    if (!name)
        return bad(name.message());
    return ServerMessage{AdmitRequest{*id, name->value_or("")}};
}

Parsed<ServerMessage> parse_admit_resolved(JsonObject *o) {
    auto id = get_string(o, "id");
    auto outcome = get_string(o, "outcome");
    if (!id)
        return bad(id.message());
    if (!outcome)
        return bad(outcome.message());
    for (const auto &n : kOutcomeNames)
        if (*outcome == n.name)
            return ServerMessage{AdmitResolved{*id, n.outcome}};
    return bad("unknown outcome '" + *outcome + "'");
}

} // namespace

Parsed<ServerMessage> parse_server(std::string_view text) {
    JsonObject *o = nullptr;
    auto parsed = parse_object(text, &o);
    if (auto *e = std::get_if<ParseError>(&parsed))
        return *e;
    auto type = get_string(o, "type");
    if (!type)
        return bad(type.message());
    using Parser = Parsed<ServerMessage> (*)(JsonObject *);
    static constexpr std::pair<const char *, Parser> kParsers[] = {
        {"joined", parse_joined},       {"peer-joined", parse_peer_joined},
        {"peer-left", parse_peer_left}, {"signal", parse_relayed},
        {"error", parse_server_error},  {"lobby", parse_lobby_state},
        {"waiting", parse_waiting},     {"admit-request", parse_admit_request},
        {"admit-resolved", parse_admit_resolved},
    };
    for (const auto &[name, parse] : kParsers)
        if (*type == name)
            return parse(o);
    return ParseError{ErrorCode::UnknownType, "unknown message type '" + *type + "'"};
}

std::string to_json(const ClientMessage &m) {
    struct V {
        std::string operator()(const Join &j) const {
            Obj o("join");
            o.str("room", j.room);
            if (j.resume)
                o.str("resume", *j.resume);
            if (j.make_private)
                o.boolean("private", true);
            if (j.key)
                o.str("key", *j.key);
            if (j.name)
                o.str("name", *j.name);
            return o.done();
        }
        std::string operator()(const Signal &s) const {
            return Obj("signal").str("to", s.to).raw("data", s.data_json).done();
        }
        std::string operator()(const Leave &) const { return Obj("leave").done(); }
        std::string operator()(const SetLobby &l) const {
            return Obj("lobby").boolean("on", l.on).done();
        }
        std::string operator()(const Admit &a) const { return Obj("admit").str("id", a.id).done(); }
        std::string operator()(const Decline &d) const {
            return Obj("decline").str("id", d.id).done();
        }
    };
    return std::visit(V{}, m);
}

std::string to_json(const ServerMessage &m) {
    struct V {
        std::string operator()(const Joined &j) const {
            Obj o("joined");
            o.str("id", j.id)
                .str("room", j.room)
                .strings("peers", j.peers)
                .str("resume", j.resume)
                .boolean("resumed", j.resumed)
                .raw("iceServers", j.ice_servers_json)
                .boolean("private", j.is_private)
                .boolean("lobby", j.lobby)
                .string_map("names", j.names);
            if (!j.key.empty())
                o.str("key", j.key);
            return o.done();
        }
        std::string operator()(const PeerJoined &p) const {
            Obj o("peer-joined");
            o.str("id", p.id).boolean("resumed", p.resumed);
            if (!p.name.empty())
                o.str("name", p.name);
            return o.done();
        }
        std::string operator()(const PeerLeft &p) const {
            return Obj("peer-left")
                .str("id", p.id)
                .str("reason", leave_reason_name(p.reason))
                .done();
        }
        // The relay's hot path: one allocation, `data` copied as it arrived.
        std::string operator()(const Relayed &r) const {
            static constexpr std::string_view kHead = "{\"type\":\"signal\",\"from\":";
            static constexpr std::string_view kData = ",\"data\":";
            std::string out;
            out.reserve(kHead.size() + r.from.size() + 2 + kData.size() + r.data_json.size() + 1);
            out += kHead;
            append_json_string(out, r.from);
            out += kData;
            out += r.data_json;
            out += '}';
            return out;
        }
        std::string operator()(const Error &e) const {
            return Obj("error")
                .str("code", error_code_name(e.code))
                .str("message", e.message)
                .done();
        }
        std::string operator()(const LobbyState &l) const {
            return Obj("lobby").boolean("on", l.on).done();
        }
        std::string operator()(const Waiting &w) const {
            return Obj("waiting").str("room", w.room).done();
        }
        std::string operator()(const AdmitRequest &a) const {
            return Obj("admit-request").str("id", a.id).str("name", a.name).done();
        }
        std::string operator()(const AdmitResolved &a) const {
            return Obj("admit-resolved")
                .str("id", a.id)
                .str("outcome", admit_outcome_name(a.outcome))
                .done();
        }
    };
    return std::visit(V{}, m);
}

Result<SignalData> parse_signal_data(std::string_view json) {
    JsonObject *o = nullptr;
    auto parsed = parse_object(json, &o);
    if (auto *e = std::get_if<ParseError>(&parsed))
        return fail(e->message);
    JsonNode *sdp = json_object_get_member(o, "sdp");
    if (sdp && JSON_NODE_HOLDS_OBJECT(sdp)) {
        JsonObject *s = json_node_get_object(sdp);
        auto type = get_string(s, "type");
        auto text = get_string(s, "sdp");
        // Both missing: the last is the one named, as it always was.
        if (!text)
            return text.error();
        if (!type)
            return type.error();
        if (*type != "offer" && *type != "answer")
            return fail("sdp type must be offer or answer");
        return SignalData{SdpData{*type, *text}};
    }
    JsonNode *cand = json_object_get_member(o, "candidate");
    if (cand && JSON_NODE_HOLDS_OBJECT(cand)) {
        JsonObject *c = json_node_get_object(cand);
        auto text = get_string(c, "candidate");
        if (!text)
            return text.error();
        CandidateData d{*text, 0, {}};
        JsonNode *idx = json_object_get_member(c, "sdpMLineIndex");
        if (!idx || !JSON_NODE_HOLDS_VALUE(idx) ||
            (json_node_get_value_type(idx) != G_TYPE_INT64 &&
             json_node_get_value_type(idx) != G_TYPE_DOUBLE))
            return fail("candidate needs a numeric sdpMLineIndex");
        // A double is range-checked before it becomes an integer: converting one outside
        // gint64 (5e28, or an overflow to inf) is undefined behaviour (found by fuzzing).
        double v = json_node_get_value_type(idx) == G_TYPE_INT64 ? double(json_node_get_int(idx))
                                                                 : json_node_get_double(idx);
        if (!(v >= 0 && v <= kMaxMLineIndex) || v != double(unsigned(v)))
            return fail("sdpMLineIndex must be a whole number from 0 to 1024");
        d.mline_index = unsigned(v);
        JsonNode *mid = json_object_get_member(c, "sdpMid");
        if (mid && JSON_NODE_HOLDS_VALUE(mid) && json_node_get_value_type(mid) == G_TYPE_STRING)
            d.mid = json_node_get_string(mid);
        return SignalData{std::move(d)};
    }
    return fail("signal data holds neither 'sdp' nor 'candidate'");
}

std::string to_json(const SignalData &d) {
    std::string out;
    if (auto *s = std::get_if<SdpData>(&d)) {
        out = "{\"sdp\":{\"type\":";
        append_json_string(out, s->type);
        out += ",\"sdp\":";
        append_json_string(out, s->sdp);
        out += "}}";
    } else {
        const auto &c = std::get<CandidateData>(d);
        out = "{\"candidate\":{\"candidate\":";
        append_json_string(out, c.candidate);
        out += ",\"sdpMLineIndex\":" + std::to_string(c.mline_index) + ",\"sdpMid\":";
        append_json_string(out, c.mid);
        out += "}}";
    }
    return out;
}

} // namespace duet::proto
