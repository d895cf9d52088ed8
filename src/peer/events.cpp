// SPDX-License-Identifier: MIT
// JSON-lines formatting of duet-peer events, via json-glib so strings are escaped right.
#include "src/peer/events.h"

#include "src/common/gobj.h"

#include <json-glib/json-glib.h>

namespace duet::peer {

namespace events {
Event joined(const std::string &id, const std::string &room, const std::vector<std::string> &peers,
             bool resumed) {
    return Event{"joined", {}}
        .with("id", id)
        .with("room", room)
        .with("peers", peers)
        .with("resumed", resumed);
}
Event peer_joined(const std::string &peer, bool resumed) {
    return Event{"peer-joined", {}}.with("peer", peer).with("resumed", resumed);
}
Event connected(const std::string &peer) {
    return Event{"connected", {}}.with("peer", peer);
}
Event first_frame(const char *kind, const std::string &peer) {
    return Event{"first-frame", {}}.with("kind", std::string(kind)).with("peer", peer);
}
Event peer_left(const std::string &peer, const char *reason) {
    return Event{"peer-left", {}}.with("peer", peer).with("reason", std::string(reason));
}
Event reconnecting(unsigned attempt, unsigned delay_ms) {
    return Event{"reconnecting", {}}
        .with("attempt", gint64(attempt))
        .with("delay_ms", gint64(delay_ms));
}
Event error(const std::string &code, const std::string &message, const std::string &peer) {
    Event e{"error", {}};
    e.with("code", code).with("message", message);
    if (!peer.empty())
        e.with("peer", peer);
    return e;
}
} // namespace events

std::string format_event(const Event &e, gint64 t_ms) {
    auto b = Ref<JsonBuilder>::adopt(json_builder_new());
    json_builder_begin_object(b.get());
    json_builder_set_member_name(b.get(), "event");
    json_builder_add_string_value(b.get(), e.name.c_str());
    for (const auto &f : e.fields) {
        json_builder_set_member_name(b.get(), f.key.c_str());
        switch (f.type) {
        case Event::Field::Type::String:
            json_builder_add_string_value(b.get(), f.s.c_str());
            break;
        case Event::Field::Type::Int:
            json_builder_add_int_value(b.get(), f.i);
            break;
        case Event::Field::Type::Bool:
            json_builder_add_boolean_value(b.get(), f.b);
            break;
        case Event::Field::Type::Strings:
            json_builder_begin_array(b.get());
            for (const auto &item : f.list)
                json_builder_add_string_value(b.get(), item.c_str());
            json_builder_end_array(b.get());
            break;
        }
    }
    if (t_ms >= 0) {
        json_builder_set_member_name(b.get(), "t_ms");
        json_builder_add_int_value(b.get(), t_ms);
    }
    json_builder_end_object(b.get());
    JsonNode *root = json_builder_get_root(b.get());
    auto gen = Ref<JsonGenerator>::adopt(json_generator_new());
    json_generator_set_root(gen.get(), root);
    gchar *text = json_generator_to_data(gen.get(), nullptr);
    std::string out(text);
    g_free(text);
    json_node_unref(root);
    return out;
}

void EventWriter::emit(const Event &e) {
    if (tap_)
        tap_(e);
    if (!enabled_)
        return;
    std::string line = format_event(e, (g_get_monotonic_time() - start_us_) / 1000) + "\n";
    std::fwrite(line.data(), 1, line.size(), out_);
    std::fflush(out_);
}

} // namespace duet::peer
