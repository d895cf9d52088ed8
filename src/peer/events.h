// SPDX-License-Identifier: MIT
// The `--events` output: one JSON object per line on stdout, each with an `event` field.
#pragma once

#include <glib.h>

#include <cstdio>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace duet::peer {

struct Event {
    // One member of the JSON object. A plain struct rather than a std::variant: GCC 12
    // reports false maybe-uninitialized warnings for variants holding vectors.
    struct Field {
        enum class Type { String, Int, Bool, Strings, Double } type;
        std::string key;
        std::string s;
        gint64 i = 0;
        bool b = false;
        std::vector<std::string> list;
        double d = 0;
    };
    std::string name;
    std::vector<Field> fields; // printed in this order

    Event &with(std::string key, std::string v) {
        fields.push_back(Field{Field::Type::String, std::move(key), std::move(v), 0, false, {}});
        return *this;
    }
    // Without this, a string literal would pick the bool overload.
    Event &with(std::string key, const char *v) { return with(std::move(key), std::string(v)); }
    Event &with(std::string key, gint64 v) {
        fields.push_back(Field{Field::Type::Int, std::move(key), {}, v, false, {}});
        return *this;
    }
    Event &with(std::string key, bool v) {
        fields.push_back(Field{Field::Type::Bool, std::move(key), {}, 0, v, {}});
        return *this;
    }
    Event &with(std::string key, std::vector<std::string> v) {
        fields.push_back(Field{Field::Type::Strings, std::move(key), {}, 0, false, std::move(v)});
        return *this;
    }
    Event &with(std::string key, double v) {
        fields.push_back(Field{Field::Type::Double, std::move(key), {}, 0, false, {}, v});
        return *this;
    }
    // Looks a string member up (tests); "" when absent.
    std::string str(const std::string &key) const {
        for (const auto &f : fields)
            if (f.key == key && f.type == Field::Type::String)
                return f.s;
        return {};
    }
};

// The events duet-peer emits (docs/KIOSK.md describes each).
namespace events {
Event joined(const std::string &id, const std::string &room, const std::vector<std::string> &peers,
             bool resumed);
// `name`: the display name they gave ("" without one).
Event peer_joined(const std::string &peer, bool resumed, const std::string &name = {});
// A chat message from `from` (called `name`, "" without one) on the duet-chat channel.
Event chat(const std::string &from, const std::string &name, const std::string &text);
// `codec` and `encoder`: the video this call sends, e.g. "H264" and "x264enc".
Event connected(const std::string &peer, const std::string &codec = {},
                const std::string &encoder = {});
Event first_frame(const char *kind, const std::string &peer);
// `--latency-ms auto` set a new receive latency for `peer`'s call, after this jitter.
Event latency(const std::string &peer, int latency_ms, double jitter_ms);
Event peer_left(const std::string &peer, const char *reason);
Event reconnecting(unsigned attempt, unsigned delay_ms);
// Someone asks to join (a room with "ask before anyone joins"): answer with `admit ID` or
// `decline ID` on standard input. `admit-resolved` says how a request ended.
Event admit_request(const std::string &id, const std::string &name);
Event admit_resolved(const std::string &id, const char *outcome);
Event error(const std::string &code, const std::string &message, const std::string &peer = {});

// Receive-side figures for one remote peer's current call (see docs/KIOSK.md `stats`).
struct ReceiveStats {
    std::string peer;
    const char *state = "new"; // the connection state's name
    guint64 video_frames = 0;  // decoded since this call started
    double video_fps = 0;      // decoded per second over the last interval
    guint64 audio_buffers = 0; // decoded since this call started
    double audio_bps = 0;      // decoded buffers per second over the last interval
    // What we send to that peer (bandwidth adaptation): present when `sends_video`.
    bool sends_video = false;
    int send_kbps = 0;      // the video encoder's bitrate now
    int sent_kbps = 0;      // video actually sent over the last second or so
    double send_loss = 0;   // share of our video the peer reports lost (smoothed, 0-1)
    double rtt_ms = -1;     // round trip from its reports, -1 before the first
    int send_width = 0, send_height = 0, send_fps = 0;
    // Transport-wide congestion control: feedback packets the peer sent about what we send
    // (0: none, not negotiated); with some, our video's rate as it arrived, the one-way
    // delay above its lowest (our own queue) and that delay's trend.
    guint64 twcc = 0;
    int acked_kbps = 0;
    double queue_ms = -1;
    const char *delay_trend = "normal";
    int send_fec = 0;           // video ULPFEC overhead, percent (0: none or not negotiated)
    unsigned fec_recovered = 0; // the peer's video packets rebuilt from its ULPFEC so far
};
Event stats(const ReceiveStats &s);

// --simulate-room with talk-after-ms: the echo figures of what was sent (echo_room.h).
struct EchoReport {
    bool processing = false; // webrtcdsp was on
    int delay_ms = 0;
    double erle_db = 0, echo_dbfs = 0, residual_dbfs = 0;
    double near_kept_db = 0, double_talk_gain_db = 0, alone_gain_db = 0;
    double echo_only_s = 0, double_talk_s = 0;
};
Event echo_report(const EchoReport &r);
// The echo canceller measured the speaker-to-microphone delay; `following`: its reference
// moved to it (no --echo-delay-ms given).
// `saved`: the delay an earlier run measured, which this run starts from.
Event echo_delay(int delay_ms, bool following, bool saved = false);
} // namespace events

// Compact JSON, `event` first, then the fields, then `t_ms` if given (>= 0).
std::string format_event(const Event &e, gint64 t_ms = -1);

// Writes events as lines and flushes each, so a reader sees it at once. Disabled writers
// drop everything (the flag is `--events`).
class EventWriter {
  public:
    EventWriter(FILE *out, bool enabled)
        : out_(out), enabled_(enabled), start_us_(g_get_monotonic_time()) {}
    void emit(const Event &e);
    bool enabled() const { return enabled_; }
    // Sees every event, printed or not (tests and logs).
    void set_tap(std::function<void(const Event &)> tap) { tap_ = std::move(tap); }

  private:
    std::function<void(const Event &)> tap_;
    FILE *out_;
    bool enabled_;
    gint64 start_us_;
};

} // namespace duet::peer
