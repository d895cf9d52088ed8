// SPDX-License-Identifier: MIT
// JSON-lines formatting of duet-peer events, with the protocol's string escaper.
#include "src/peer/events.h"

#include "signaling/protocol.h"

#include <cmath>

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
Event peer_joined(const std::string &peer, bool resumed, const std::string &name) {
    return Event{"peer-joined", {}}.with("peer", peer).with("resumed", resumed).with("name", name);
}
Event chat(const std::string &from, const std::string &name, const std::string &text) {
    return Event{"chat", {}}.with("from", from).with("name", name).with("text", text);
}
Event connected(const std::string &peer, const std::string &codec, const std::string &encoder) {
    Event e = Event{"connected", {}}.with("peer", peer);
    // No video in this call (the offer had no codec we send): no codec fields.
    if (!codec.empty())
        e.with("codec", codec).with("encoder", encoder);
    return e;
}
Event first_frame(const char *kind, const std::string &peer) {
    return Event{"first-frame", {}}.with("kind", std::string(kind)).with("peer", peer);
}
Event latency(const std::string &peer, int latency_ms, double jitter_ms) {
    return Event{"latency", {}}
        .with("peer", peer)
        .with("latency_ms", gint64(latency_ms))
        .with("jitter_ms", double(std::lround(jitter_ms * 10)) / 10);
}
Event peer_left(const std::string &peer, const char *reason) {
    return Event{"peer-left", {}}.with("peer", peer).with("reason", std::string(reason));
}
Event reconnecting(unsigned attempt, unsigned delay_ms) {
    return Event{"reconnecting", {}}
        .with("attempt", gint64(attempt))
        .with("delay_ms", gint64(delay_ms));
}
Event admit_request(const std::string &id, const std::string &name) {
    return Event{"admit-request", {}}.with("id", id).with("name", name);
}
Event admit_resolved(const std::string &id, const char *outcome) {
    return Event{"admit-resolved", {}}.with("id", id).with("outcome", std::string(outcome));
}
Event error(const std::string &code, const std::string &message, const std::string &peer) {
    Event e{"error", {}};
    e.with("code", code).with("message", message);
    if (!peer.empty())
        e.with("peer", peer);
    return e;
}
Event stats(const ReceiveStats &s) {
    // One decimal is all a rate over a one-second window can honestly claim.
    auto tenth = [](double v) { return double(gint64(v * 10 + 0.5)) / 10; };
    Event e = Event{"stats", {}}
                  .with("peer", s.peer)
                  .with("state", s.state)
                  .with("video_frames", gint64(s.video_frames))
                  .with("video_fps", tenth(s.video_fps))
                  .with("audio_buffers", gint64(s.audio_buffers))
                  .with("audio_bps", tenth(s.audio_bps))
                  .with("fec_recovered", gint64(s.fec_recovered));
    if (s.sends_video) {
        e.with("send_kbps", gint64(s.send_kbps))
            .with("sent_kbps", gint64(s.sent_kbps))
            .with("send_loss", double(gint64(s.send_loss * 1000 + 0.5)) / 1000)
            .with("rtt_ms", gint64(s.rtt_ms < 0 ? -1 : s.rtt_ms + 0.5))
            .with("send_size", std::to_string(s.send_width) + "x" + std::to_string(s.send_height))
            .with("send_fps", gint64(s.send_fps))
            .with("send_fec", gint64(s.send_fec))
            .with("twcc", gint64(s.twcc));
        if (s.twcc > 0)
            e.with("acked_kbps", gint64(s.acked_kbps))
                .with("queue_ms", gint64(s.queue_ms < 0 ? -1 : s.queue_ms + 0.5))
                .with("delay_trend", s.delay_trend);
    }
    return e;
}

Event echo_delay(int delay_ms, bool following, bool saved) {
    return Event{"echo-delay", {}}
        .with("delay_ms", gint64(delay_ms))
        .with("following", following)
        .with("saved", saved);
}

Event echo_report(const EchoReport &r) {
    return Event{"echo-report", {}}
        .with("processing", r.processing)
        .with("delay_ms", gint64(r.delay_ms))
        .with("erle_db", r.erle_db)
        .with("echo_dbfs", r.echo_dbfs)
        .with("residual_dbfs", r.residual_dbfs)
        .with("near_kept_db", r.near_kept_db)
        .with("double_talk_gain_db", r.double_talk_gain_db)
        .with("alone_gain_db", r.alone_gain_db)
        .with("echo_only_s", r.echo_only_s)
        .with("double_talk_s", r.double_talk_s);
}
} // namespace events

std::string format_event(const Event &e, gint64 t_ms) {
    // Built by hand rather than with json-glib: its generator prints doubles with 17
    // significant digits (7.3 becomes 7.2999999999999998), which no reader wants.
    std::string out = "{\"event\":";
    proto::append_json_string(out, e.name);
    for (const auto &f : e.fields) {
        out += ',';
        proto::append_json_string(out, f.key);
        out += ':';
        switch (f.type) {
        case Event::Field::Type::String:
            proto::append_json_string(out, f.s);
            break;
        case Event::Field::Type::Int:
            out += std::to_string(f.i);
            break;
        case Event::Field::Type::Bool:
            out += f.b ? "true" : "false";
            break;
        case Event::Field::Type::Double: {
            // Shortest form that reads back the same at 10 digits, always with a decimal
            // point so readers see a real number; JSON has no NaN or infinity.
            char buf[G_ASCII_DTOSTR_BUF_SIZE];
            double d = std::isfinite(f.d) ? f.d : 0;
            std::string num = g_ascii_formatd(buf, sizeof buf, "%.10g", d);
            if (num.find_first_of(".e") == std::string::npos)
                num += ".0";
            out += num;
            break;
        }
        case Event::Field::Type::Strings:
            out += '[';
            for (std::size_t i = 0; i < f.list.size(); ++i) {
                if (i)
                    out += ',';
                proto::append_json_string(out, f.list[i]);
            }
            out += ']';
            break;
        }
    }
    if (t_ms >= 0)
        out += ",\"t_ms\":" + std::to_string(t_ms);
    out += '}';
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
