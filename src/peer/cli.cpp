// SPDX-License-Identifier: MIT
// duet-peer's options, declared once (flags, --config keys, ranges), and their checks.
#include "src/peer/cli.h"

#include "common/options.h"
#include "common/ref.h"
#include "pipelines/codecs.h"
#include "pipelines/echo_room.h"
#include "signaling/protocol.h"

#include <gio/gio.h>
#include <glib.h>

#include <algorithm>
#include <cstdio>
#include <memory>

namespace duet::peer {
namespace {

// Bounds that catch typos (an extra zero) without limiting real hardware.
constexpr int kMaxFps = 120;
constexpr int kMinKbps = 50;
constexpr int kMaxKbps = 50000;
constexpr int kMaxLatencyMs = 5000;
// Faster than 10 Hz the lines are noise and the rate over the interval is jumpy; slower
// than once a minute nobody would call it a live figure.
constexpr int kMinStatsIntervalMs = 100;
constexpr int kMaxStatsIntervalMs = 60000;
constexpr int kMinSide = 16;
constexpr int kMaxSide = 4096;
// More than four threads buys vp8enc nothing at call resolutions.
constexpr int kMaxEncoderThreads = 4;

} // namespace

std::optional<std::pair<int, int>> parse_size(const std::string &text) {
    int w = 0, h = 0;
    char extra = 0;
    if (std::sscanf(text.c_str(), "%dx%d%c", &w, &h, &extra) != 2)
        return std::nullopt;
    if (w < kMinSide || w > kMaxSide || h < kMinSide || h > kMaxSide)
        return std::nullopt;
    // I420 and VP8 want even dimensions.
    if (w % 2 || h % 2)
        return std::nullopt;
    return std::pair{w, h};
}

Result<void> valid_server_url(const std::string &url) {
    GError *err = nullptr;
    GUri *uri = g_uri_parse(url.c_str(), G_URI_FLAGS_NONE, &err);
    if (!uri)
        return Error::from(err, "--server: not a URL");
    std::string scheme = g_uri_get_scheme(uri);
    const char *host = g_uri_get_host(uri);
    bool ok = (scheme == "ws" || scheme == "wss") && host && *host;
    g_uri_unref(uri);
    if (!ok)
        return fail("--server must be a ws:// or wss:// URL with a host, e.g. " +
                    std::string(kDefaultServer) + " (got '" + url + "')");
    return {};
}

namespace {

using UriRef = Owned<GUri>;

// Parses scheme://[userinfo@]host:port[?query], or says why it is not one.
Result<UriRef> parse_ice_uri(const std::string &uri, const char *flag) {
    GError *err = nullptr;
    UriRef u(g_uri_parse(uri.c_str(), G_URI_FLAGS_HAS_PASSWORD, &err));
    if (!u)
        return Error::from(err, std::string(flag) + ": not a URI");
    const char *host = g_uri_get_host(u.get());
    int port = g_uri_get_port(u.get());
    if (!host || !*host || port <= 0 || port > 65535)
        return fail(std::string(flag) + " needs a host and a port (got '" + uri + "')");
    return u;
}

} // namespace

Result<std::string> parse_stun_uri(const std::string &uri) {
    // RFC 7064 writes stun:host:port; webrtcbin wants stun://host:port.
    std::string text = uri;
    if (text.rfind("stun:", 0) == 0 && text.rfind("stun://", 0) != 0)
        text = "stun://" + text.substr(5);
    if (text.rfind("stun://", 0) != 0)
        return fail("--stun must be stun://host:port or stun:host:port (got '" + uri + "')");
    auto u = parse_ice_uri(text, "--stun");
    if (!u)
        return u.error();
    GUri *g = u->get();
    if (g_uri_get_userinfo(g) || (g_uri_get_path(g) && *g_uri_get_path(g)) || g_uri_get_query(g))
        return fail("--stun takes only host:port (got '" + uri + "')");
    return text;
}

Result<std::string> parse_turn_uri(const std::string &uri) {
    if (uri.rfind("turn://", 0) != 0 && uri.rfind("turns://", 0) != 0)
        return fail("--turn must be turn://user:pass@host:port or turns://user:pass@host:port "
                    "(got '" +
                    uri + "')");
    auto u = parse_ice_uri(uri, "--turn");
    if (!u)
        return u.error();
    GUri *g = u->get();
    const char *user = g_uri_get_user(g), *pass = g_uri_get_password(g);
    if (!(user && *user && pass && *pass))
        return fail("--turn needs user:pass@ before the host (URL-escape ':' and '@' in them)");
    if (g_uri_get_path(g) && *g_uri_get_path(g))
        return fail("--turn takes no path (got '" + uri + "')");
    return uri;
}

Result<void> valid_ca_file(const std::string &path) {
    if (path.empty())
        return fail("--ca-file needs a file name");
    GError *err = nullptr;
    GList *certs = g_tls_certificate_list_new_from_file(path.c_str(), &err);
    if (err)
        return Error::from(err, "--ca-file " + path);
    bool any = certs != nullptr;
    g_list_free_full(certs, g_object_unref);
    if (!any)
        return fail("--ca-file " + path + " holds no PEM certificate");
    return {};
}

namespace {

using namespace duet::options;

// Stores the value the chosen word stands for: the words and `values` are in one order.
template <typename E> Setter pick(E &slot, std::vector<E> values) {
    return [&slot, values](const Value &v) -> Result<void> {
        slot = values[std::size_t(v.number)];
        return {};
    };
}

// Stores what `check` makes of the text (a normalised room, a webrtcbin-style URI, ...).
Setter checked(std::string &slot, std::function<Result<std::string>(const std::string &)> check) {
    return [&slot, check](const Value &v) -> Result<void> {
        auto r = check(v.text);
        if (!r)
            return r.error();
        slot = std::move(r).value();
        return {};
    };
}

Result<std::string> check_room(const std::string &text) {
    auto room = proto::normalize_room(text);
    if (!room)
        return fail("--room: " + room.message());
    return room;
}

Result<std::string> check_name(const std::string &text) {
    auto name = proto::normalize_room(text);
    if (!name) {
        // The rules are the room name's, but the reason is about a display name.
        std::string why = name.message();
        if (why.rfind("room name", 0) == 0)
            why.replace(0, 9, "name");
        return fail("--name: " + why);
    }
    return name;
}

Result<std::string> check_server(const std::string &url) {
    if (auto ok = valid_server_url(url); !ok)
        return ok.error();
    return url;
}

Result<std::string> check_video_encoder(const std::string &name) {
    if (!pipelines::is_video_encoder(name))
        return fail("--video-encoder must be one of " + pipelines::video_encoder_names() +
                    " (got '" + name + "')");
    return name;
}

Result<std::string> check_record(const std::string &path) {
    if (path.empty())
        return fail("--record needs a file name");
    return path;
}

Result<std::string> check_room_spec(const std::string &spec) {
    if (auto parsed = pipelines::room::parse_room_spec(spec); !parsed)
        return fail("--simulate-room: " + parsed.message());
    return spec;
}

// GTlsFileDatabase wants an absolute path (and a relative one would break on chdir).
Result<std::string> check_ca_file(const std::string &path) {
    if (auto ok = valid_ca_file(path); !ok)
        return ok.error();
    gchar *abs = g_canonicalize_filename(path.c_str(), nullptr);
    std::string out = abs;
    g_free(abs);
    return out;
}

// "auto" or a whole number of ms in [0, kMaxLatencyMs].
Setter into_latency(pipelines::MediaOptions &m) {
    return [&m](const Value &v) -> Result<void> {
        if (v.text == "auto") {
            m.latency_ms = pipelines::kLatencyAuto;
            return {};
        }
        char *end = nullptr;
        gint64 ms = g_ascii_strtoll(v.text.c_str(), &end, 10);
        if (v.text.empty() || *end != '\0' || ms < 0 || ms > kMaxLatencyMs)
            return fail("--latency-ms must be auto or a whole number of ms from 0 to " +
                        std::to_string(kMaxLatencyMs) + " (got '" + v.text + "')");
        m.latency_ms = int(ms);
        return {};
    };
}

Setter into_size(pipelines::MediaOptions &m) {
    return [&m](const Value &v) -> Result<void> {
        auto size = parse_size(v.text);
        if (!size)
            return fail("--size must be WxH with even sides between " + std::to_string(kMinSide) +
                        " and " + std::to_string(kMaxSide) + ", e.g. 640x480");
        m.width = size->first;
        m.height = size->second;
        return {};
    };
}

Setter each_turn(std::vector<std::string> &turns) {
    return [&turns](const Value &v) -> Result<void> {
        for (const std::string &t : v.list) {
            auto turn = parse_turn_uri(t);
            if (!turn)
                return turn.error();
            turns.push_back(std::move(turn).value());
        }
        return {};
    };
}

std::vector<Option> peer_table(PeerOptions &o) {
    using namespace pipelines;
    MediaOptions &m = o.media;
    return {
        text("room", "Room to join (required)", "NAME", checked(o.room, check_room)).as_required(),
        text("name",
             "Our display name, shown to the others in the room (same rules as room names, at "
             "most 64 characters)",
             "NAME", checked(o.name, check_name)),
        text("control",
             "Bridge a `duet-control` data channel on every call to a local program: "
             "unix:PATH (listen on a Unix socket there) or stdio (standard input and output; "
             "not with --events). See docs/KIOSK.md, \"Control channel\"",
             "unix:PATH|stdio",
             [&o](const Value &v) -> Result<void> {
                 if (v.text == "stdio") {
                     o.control = PeerOptions::Control::Stdio;
                     return {};
                 }
                 if (v.text.rfind("unix:", 0) == 0 && v.text.size() > 5) {
                     o.control = PeerOptions::Control::Unix;
                     o.control_path = v.text.substr(5);
                     return {};
                 }
                 return fail("--control must be unix:PATH or stdio (got '" + v.text + "')");
             }),
        text("server", "duet-server WebSocket URL (default ws://127.0.0.1:8080/ws)", "URL",
             checked(o.server, check_server)),
        choice("video-source", {"auto", "camera", "libcamera", "test"},
               "auto (a libcamera camera, else a v4l2 one, else the test picture), camera "
               "(v4l2: USB cameras), libcamera (libcamerasrc: Raspberry Pi camera modules) or "
               "test",
               pick(m.video_source, {VideoSource::Auto, VideoSource::Camera, VideoSource::Libcamera,
                                     VideoSource::Test})),
        choice("video-codec", {"auto", "vp8", "h264"},
               "auto (the remote offer's first codec we can send, hardware-encoded first; "
               "when we offer, H.264 if a hardware encoder works, else VP8), vp8 or h264",
               pick(m.video_codec, {VideoCodecPref::Auto, VideoCodecPref::VP8, VideoCodecPref::H264})),
        text("video-encoder",
             "Use only this video encoder, e.g. x264enc or v4l2h264enc (default: each codec's "
             "first that works here; see docs/KIOSK.md)",
             "ELEMENT", checked(m.video_encoder, check_video_encoder)),
        choice("audio-source", {"auto", "mic", "test"},
               "auto (microphone, else test ticks), mic or test",
               pick(m.audio_source, {AudioSource::Auto, AudioSource::Mic, AudioSource::Test})),
        choice("audio-processing", {"auto", "on", "off"},
               "Echo cancellation, noise suppression and gain control on the microphone "
               "(webrtcdsp): auto (on when a microphone and a speaker are both in use), on "
               "or off",
               pick(m.audio_processing,
                    {AudioProcessing::Auto, AudioProcessing::On, AudioProcessing::Off})),
        integer("echo-delay-ms", 0, 1000,
                "How much later than the speaker plays it its echo reaches the microphone, "
                "beyond what the audio devices report (an HDMI screen or Bluetooth speaker "
                "adds 50-200 ms). Default: measured during calls from the far end's first "
                "words (the `echo-delay` event) and kept in the state directory for the "
                "next run",
                "MS", into(m.echo_delay_ms))
            .with_unit("ms"),
        text("simulate-room",
             "For tests and benches: replace microphone and speaker with a simulated room, "
             "talk=FILE[,talk-after-ms=N][,delay-ms=80][,echo-gain=0.5] (docs/KIOSK.md)",
             "SPEC", checked(m.room_spec, check_room_spec)),
        choice("sink", {"auto", "window", "none"},
               "window (full screen), none (decode only) or auto (window if a display is set)",
               pick(m.sink, {SinkMode::Auto, SinkMode::Window, SinkMode::None})),
        filename("record", "Record the remote audio and video to this file (WebM when only VP8 can be negotiated, else Matroska)", "FILE",
                 checked(m.record_path, check_record)),
        flag("events", "Print one JSON event per line on stdout", into(o.events)),
        integer("stats-interval", kMinStatsIntervalMs, kMaxStatsIntervalMs,
                "With --events, a `stats` line per remote peer every MS milliseconds (default "
                "1000; 0 off)",
                "MS", into(o.stats_interval_ms))
            .with_zero_meaning("off")
            .with_unit("ms"),
        integer("duration", 0, G_MAXINT,
                "Leave and exit 0 after this many seconds (default: run until signaled)", "SECONDS",
                into(o.duration_s)),
        filename("video-device",
                 "Camera device: a /dev/video* node (v4l2; auto then skips libcamera), or with "
                 "--video-source libcamera a camera name as `cam --list` shows it (default: the "
                 "first camera that works)",
                 "DEVICE", into(m.video_device)),
        text("size", "Sent video size (default 640x480)", "WxH", into_size(m)),
        integer("fps", 1, kMaxFps, "Sent frame rate (default 30)", "N", into(m.fps)),
        integer("video-bitrate", kMinKbps, kMaxKbps,
                "Most video bitrate per call in kbit/s; each call adapts below it to what its "
                "path carries (default 800)",
                "KBPS", into(m.video_kbps))
            .with_unit("kbit/s"),
        text("latency-ms",
             "Receive jitter-buffer latency in ms, or auto: start small and follow the "
             "measured jitter (default auto)",
             "MS|auto", into_latency(m)),
        integer("connect-timeout", 0, G_MAXINT,
                "Exit 1 when the server has been unreachable this long (default 0: retry "
                "forever)",
                "SECONDS", into(o.connect_timeout_s)),
        filename("state-dir",
                 "Where the resume token is kept so a restart reclaims the seat, and the "
                 "measured echo delay so the next run starts from it (default: "
                 "systemd's $RUNTIME_DIRECTORY, else $XDG_RUNTIME_DIR/duet-peer)",
                 "DIR", into(o.state_dir)),
        filename("ca-file",
                 "PEM CA bundle to trust for wss:// (a private CA; default: the "
                 "system's)",
                 "FILE", checked(o.ca_file, check_ca_file)),
        text("stun", "STUN server, used instead of one the server hands out", "stun://HOST:PORT",
             checked(o.stun, parse_stun_uri)),
        list("turn", "TURN server, added to those the server hands out (repeatable)",
             "turn(s)://USER:PASS@HOST:PORT", each_turn(o.turns)),
        flag("relay-only", "Send media only through a TURN relay (ICE transport policy 'relay')",
             into(o.relay_only)),
        choice("admit", {"auto", "ask"},
               "auto: whoever may enter comes in; ask: switch on \"ask before anyone "
               "joins\", ring on the speaker and print an admit-request event for each "
               "newcomer, answered with `admit ID` or `decline ID` on standard input (holders "
               "of --room-key-file's link come straight in)",
               [&o](const Value &v) -> Result<void> {
                   o.admit_ask = v.text == "ask";
                   return {};
               }),
        filename("room-key-file",
                 "Make the room private: only people with its link (which holds the key in "
                 "this file) can join. Made with a fresh key, mode 0600, if missing; the "
                 "link is printed when it is made",
                 "FILE", into(o.room_key_file)),
    };
}

const Program kPeer{"peer", "- native duet peer for kiosks and headless machines",
                    "Joins a room on duet-server and holds a two-way video call.",
                    "Exit codes: 0 done, 1 runtime failure, 2 usage error, 3 room full.\n"
                    "See docs/KIOSK.md for events and reconnect behaviour."};

} // namespace

Result<PeerOptions> parse_cli(const std::vector<std::string> &args) {
    PeerOptions o;
    if (auto parsed = options::parse(kPeer, peer_table(o), args); !parsed)
        return parsed.error();
    if (o.control == PeerOptions::Control::Stdio && o.events)
        return fail("--control stdio needs stdout; drop --events");
    o.media.encoder_threads = std::min(int(g_get_num_processors()), kMaxEncoderThreads);
    // WebM holds VP8 and Opus only. A .webm recording therefore means VP8 calls (auto), and
    // H.264 with a .webm name is a contradiction to point out, not a file to mislabel.
    if (g_str_has_suffix(o.media.record_path.c_str(), ".webm")) {
        if (o.media.video_codec == pipelines::VideoCodecPref::H264)
            return fail("--record " + o.media.record_path +
                                     ": WebM cannot hold H.264; name the file .mkv");
        if (o.media.video_codec == pipelines::VideoCodecPref::Auto) {
            g_message("recording to WebM, which holds VP8 only: calls use VP8");
            o.media.video_codec = pipelines::VideoCodecPref::VP8;
        }
    }
    return o;
}

} // namespace duet::peer
