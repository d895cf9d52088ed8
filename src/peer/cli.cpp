// SPDX-License-Identifier: MIT
// GOption-based parsing and validation of duet-peer's flags.
#include "src/peer/cli.h"
#include "src/peer/config_file.h"

#include "signaling/protocol.h"

#include <gio/gio.h>
#include <glib.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
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

struct Raw {
    gchar *room = nullptr, *server = nullptr, *video_source = nullptr, *audio_source = nullptr,
          *sink = nullptr, *record = nullptr, *video_device = nullptr, *size = nullptr,
          *state_dir = nullptr, *ca_file = nullptr, *stun = nullptr;
    gchar **turn = nullptr;
    gboolean events = FALSE, relay_only = FALSE;
    gint duration = 0, fps = pipelines::kDefaultFps, kbps = pipelines::kDefaultVideoKbps,
         latency = pipelines::kDefaultLatencyMs, connect_timeout = 0,
         stats_interval = kDefaultStatsIntervalMs;
    ~Raw() {
        for (gchar *p : {room, server, video_source, audio_source, sink, record, video_device, size,
                         state_dir, ca_file, stun})
            g_free(p);
        g_strfreev(turn);
    }
};

CliResult usage(std::string msg) {
    CliResult r;
    r.exit_code = kExitUsage;
    r.message = std::move(msg);
    return r;
}

template <typename E> struct Choice {
    const char *name;
    E value;
};

template <typename E, std::size_t N>
bool choose(const char *text, const Choice<E> (&choices)[N], E *out) {
    if (!text)
        return true;
    for (const auto &c : choices)
        if (std::strcmp(text, c.name) == 0) {
            *out = c.value;
            return true;
        }
    return false;
}

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

bool valid_server_url(const std::string &url, std::string *why) {
    GError *err = nullptr;
    GUri *uri = g_uri_parse(url.c_str(), G_URI_FLAGS_NONE, &err);
    if (!uri) {
        *why = std::string("--server: not a URL: ") + err->message;
        g_error_free(err);
        return false;
    }
    std::string scheme = g_uri_get_scheme(uri);
    const char *host = g_uri_get_host(uri);
    bool ok = (scheme == "ws" || scheme == "wss") && host && *host;
    g_uri_unref(uri);
    if (!ok)
        *why = "--server must be a ws:// or wss:// URL with a host, e.g. " +
               std::string(kDefaultServer) + " (got '" + url + "')";
    return ok;
}

namespace {

// Parses scheme://[userinfo@]host:port[?query]; nullptr (reason in *why) if it is not one.
GUri *parse_ice_uri(const std::string &uri, const char *flag, std::string *why) {
    GError *err = nullptr;
    GUri *u = g_uri_parse(uri.c_str(), G_URI_FLAGS_HAS_PASSWORD, &err);
    if (!u) {
        *why = std::string(flag) + ": not a URI: " + err->message;
        g_error_free(err);
        return nullptr;
    }
    const char *host = g_uri_get_host(u);
    if (!host || !*host || g_uri_get_port(u) <= 0 || g_uri_get_port(u) > 65535) {
        *why = std::string(flag) + " needs a host and a port (got '" + uri + "')";
        g_uri_unref(u);
        return nullptr;
    }
    return u;
}

} // namespace

std::optional<std::string> parse_stun_uri(const std::string &uri, std::string *why) {
    // RFC 7064 writes stun:host:port; webrtcbin wants stun://host:port.
    std::string text = uri;
    if (text.rfind("stun:", 0) == 0 && text.rfind("stun://", 0) != 0)
        text = "stun://" + text.substr(5);
    if (text.rfind("stun://", 0) != 0) {
        *why = "--stun must be stun://host:port or stun:host:port (got '" + uri + "')";
        return std::nullopt;
    }
    GUri *u = parse_ice_uri(text, "--stun", why);
    if (!u)
        return std::nullopt;
    bool extra =
        g_uri_get_userinfo(u) || (g_uri_get_path(u) && *g_uri_get_path(u)) || g_uri_get_query(u);
    g_uri_unref(u);
    if (extra) {
        *why = "--stun takes only host:port (got '" + uri + "')";
        return std::nullopt;
    }
    return text;
}

std::optional<std::string> parse_turn_uri(const std::string &uri, std::string *why) {
    if (uri.rfind("turn://", 0) != 0 && uri.rfind("turns://", 0) != 0) {
        *why = "--turn must be turn://user:pass@host:port or turns://user:pass@host:port "
               "(got '" +
               uri + "')";
        return std::nullopt;
    }
    GUri *u = parse_ice_uri(uri, "--turn", why);
    if (!u)
        return std::nullopt;
    const char *user = g_uri_get_user(u), *pass = g_uri_get_password(u);
    bool has_credentials = user && *user && pass && *pass;
    bool has_path = g_uri_get_path(u) && *g_uri_get_path(u);
    g_uri_unref(u);
    if (!has_credentials) {
        *why = "--turn needs user:pass@ before the host (URL-escape ':' and '@' in them)";
        return std::nullopt;
    }
    if (has_path) {
        *why = "--turn takes no path (got '" + uri + "')";
        return std::nullopt;
    }
    return uri;
}

bool valid_ca_file(const std::string &path, std::string *why) {
    if (path.empty()) {
        *why = "--ca-file needs a file name";
        return false;
    }
    GError *err = nullptr;
    GList *certs = g_tls_certificate_list_new_from_file(path.c_str(), &err);
    if (err) {
        *why = "--ca-file " + path + ": " + err->message;
        g_error_free(err);
        return false;
    }
    bool any = certs != nullptr;
    g_list_free_full(certs, g_object_unref);
    if (!any)
        *why = "--ca-file " + path + " holds no PEM certificate";
    return any;
}

CliResult parse_cli(const std::vector<std::string> &given) {
    std::vector<std::string> args;
    std::string config_why;
    if (!expand_config_file(given, &args, &config_why))
        return usage(config_why);
    Raw raw;
    gchar *config_for_help = nullptr; // --config is expanded above; listed here for --help
    GOptionEntry entries[] = {
        {"room", 0, 0, G_OPTION_ARG_STRING, &raw.room, "Room to join (required)", "NAME"},
        {"server", 0, 0, G_OPTION_ARG_STRING, &raw.server,
         "duet-server WebSocket URL (default ws://127.0.0.1:8080/ws)", "URL"},
        {"video-source", 0, 0, G_OPTION_ARG_STRING, &raw.video_source,
         "auto (camera, else test picture), camera or test", "auto|camera|test"},
        {"audio-source", 0, 0, G_OPTION_ARG_STRING, &raw.audio_source,
         "auto (microphone, else test ticks), mic or test", "auto|mic|test"},
        {"sink", 0, 0, G_OPTION_ARG_STRING, &raw.sink,
         "window (full screen), none (decode only) or auto (window if a display is set)",
         "auto|window|none"},
        {"record", 0, 0, G_OPTION_ARG_FILENAME, &raw.record,
         "Record the remote audio and video to this WebM file", "FILE"},
        {"events", 0, 0, G_OPTION_ARG_NONE, &raw.events, "Print one JSON event per line on stdout",
         nullptr},
        {"stats-interval", 0, 0, G_OPTION_ARG_INT, &raw.stats_interval,
         "With --events, a `stats` line per remote peer every MS milliseconds (default 1000; 0 "
         "off)",
         "MS"},
        {"duration", 0, 0, G_OPTION_ARG_INT, &raw.duration,
         "Leave and exit 0 after this many seconds (default: run until signalled)", "SECONDS"},
        {"video-device", 0, 0, G_OPTION_ARG_FILENAME, &raw.video_device,
         "Camera device (default: the first /dev/video* that works)", "/dev/videoN"},
        {"size", 0, 0, G_OPTION_ARG_STRING, &raw.size, "Sent video size (default 640x480)", "WxH"},
        {"fps", 0, 0, G_OPTION_ARG_INT, &raw.fps, "Sent frame rate (default 30)", "N"},
        {"video-bitrate", 0, 0, G_OPTION_ARG_INT, &raw.kbps,
         "VP8 target bitrate in kbit/s (default 800)", "KBPS"},
        {"latency-ms", 0, 0, G_OPTION_ARG_INT, &raw.latency,
         "Receive jitter-buffer latency in ms (default 50, for a LAN)", "MS"},
        {"connect-timeout", 0, 0, G_OPTION_ARG_INT, &raw.connect_timeout,
         "Exit 1 when the server has been unreachable this long (default 0: retry forever)",
         "SECONDS"},
        {"state-dir", 0, 0, G_OPTION_ARG_FILENAME, &raw.state_dir,
         "Where the resume token is kept so a restart reclaims the seat (default: systemd's "
         "$RUNTIME_DIRECTORY, else $XDG_RUNTIME_DIR/duet-peer)",
         "DIR"},
        {"ca-file", 0, 0, G_OPTION_ARG_FILENAME, &raw.ca_file,
         "PEM CA bundle to trust for wss:// (a private CA; default: the system's)", "FILE"},
        {"stun", 0, 0, G_OPTION_ARG_STRING, &raw.stun,
         "STUN server, used instead of one the server hands out", "stun://HOST:PORT"},
        {"turn", 0, 0, G_OPTION_ARG_STRING_ARRAY, &raw.turn,
         "TURN server, added to those the server hands out (repeatable)",
         "turn(s)://USER:PASS@HOST:PORT"},
        {"relay-only", 0, 0, G_OPTION_ARG_NONE, &raw.relay_only,
         "Send media only through a TURN relay (ICE transport policy 'relay')", nullptr},
        {"config", 0, 0, G_OPTION_ARG_FILENAME, &config_for_help,
         "Read settings from a key-file ([peer] group, keys as the long flags)", "FILE"},
        {}};
    std::unique_ptr<GOptionContext, decltype(&g_option_context_free)> ctx(
        g_option_context_new("- native duet peer for kiosks and headless machines"),
        g_option_context_free);
    g_option_context_set_summary(ctx.get(),
                                 "Joins a room on duet-server and holds a two-way video call.");
    g_option_context_set_description(
        ctx.get(), "Exit codes: 0 done, 1 runtime failure, 2 usage error, 3 room full.\n"
                   "See docs/KIOSK.md for events and reconnect behaviour.");
    g_option_context_add_main_entries(ctx.get(), entries, nullptr);

    std::vector<gchar *> argv;
    for (const auto &a : args)
        argv.push_back(g_strdup(a.c_str()));
    argv.push_back(nullptr);
    gchar **argvp = argv.data();
    int argc = int(args.size());
    // GLib may permute and shorten argv; keep the original pointers to free them.
    std::vector<gchar *> owned(argv.begin(), argv.end() - 1);
    GError *err = nullptr;
    bool ok = g_option_context_parse(ctx.get(), &argc, &argvp, &err);
    std::string extra = ok && argc > 1 ? argvp[1] : "";
    for (gchar *p : owned)
        g_free(p);
    if (!ok) {
        std::string m = err->message;
        g_error_free(err);
        return usage(m);
    }
    if (!extra.empty())
        return usage("unexpected argument '" + extra + "'");

    PeerOptions o;
    if (!raw.room)
        return usage("--room NAME is required");
    std::string why;
    auto room = proto::normalize_room(raw.room, &why);
    if (!room)
        return usage("--room: " + why);
    o.room = *room;
    if (raw.server)
        o.server = raw.server;
    if (!valid_server_url(o.server, &why))
        return usage(why);

    using namespace pipelines;
    static const Choice<VideoSource> vs[] = {
        {"auto", VideoSource::Auto}, {"camera", VideoSource::Camera}, {"test", VideoSource::Test}};
    static const Choice<AudioSource> as[] = {
        {"auto", AudioSource::Auto}, {"mic", AudioSource::Mic}, {"test", AudioSource::Test}};
    static const Choice<SinkMode> sm[] = {
        {"auto", SinkMode::Auto}, {"window", SinkMode::Window}, {"none", SinkMode::None}};
    if (!choose(raw.video_source, vs, &o.media.video_source))
        return usage("--video-source must be auto, camera or test");
    if (!choose(raw.audio_source, as, &o.media.audio_source))
        return usage("--audio-source must be auto, mic or test");
    if (!choose(raw.sink, sm, &o.media.sink))
        return usage("--sink must be auto, window or none");
    if (raw.size) {
        auto size = parse_size(raw.size);
        if (!size)
            return usage("--size must be WxH with even sides between 16 and 4096, e.g. 640x480");
        o.media.width = size->first;
        o.media.height = size->second;
    }
    if (raw.fps < 1 || raw.fps > kMaxFps)
        return usage("--fps must be 1.." + std::to_string(kMaxFps));
    if (raw.kbps < kMinKbps || raw.kbps > kMaxKbps)
        return usage("--video-bitrate must be " + std::to_string(kMinKbps) + ".." +
                     std::to_string(kMaxKbps) + " kbit/s");
    if (raw.latency < 0 || raw.latency > kMaxLatencyMs)
        return usage("--latency-ms must be 0.." + std::to_string(kMaxLatencyMs));
    if (raw.duration < 0)
        return usage("--duration must be >= 0");
    if (raw.stats_interval != 0 &&
        (raw.stats_interval < kMinStatsIntervalMs || raw.stats_interval > kMaxStatsIntervalMs))
        return usage("--stats-interval must be 0 (off) or " + std::to_string(kMinStatsIntervalMs) +
                     ".." + std::to_string(kMaxStatsIntervalMs) + " ms");
    if (raw.connect_timeout < 0)
        return usage("--connect-timeout must be >= 0");
    o.media.fps = raw.fps;
    o.media.video_kbps = raw.kbps;
    o.media.latency_ms = raw.latency;
    if (raw.video_device)
        o.media.video_device = raw.video_device;
    if (raw.record) {
        if (!*raw.record)
            return usage("--record needs a file name");
        o.media.record_path = raw.record;
    }
    o.media.encoder_threads = std::min(int(g_get_num_processors()), kMaxEncoderThreads);
    o.events = raw.events;
    o.stats_interval_ms = raw.stats_interval;
    o.duration_s = raw.duration;
    o.connect_timeout_s = raw.connect_timeout;
    if (raw.state_dir)
        o.state_dir = raw.state_dir;
    if (raw.ca_file) {
        if (!valid_ca_file(raw.ca_file, &why))
            return usage(why);
        // GTlsFileDatabase wants an absolute path (and a relative one would break on chdir).
        gchar *abs = g_canonicalize_filename(raw.ca_file, nullptr);
        o.ca_file = abs;
        g_free(abs);
    }
    if (raw.stun) {
        auto stun = parse_stun_uri(raw.stun, &why);
        if (!stun)
            return usage(why);
        o.stun = *stun;
    }
    for (gchar **t = raw.turn; t && *t; ++t) {
        auto turn = parse_turn_uri(*t, &why);
        if (!turn)
            return usage(why);
        o.turns.push_back(*turn);
    }
    o.relay_only = raw.relay_only;
    CliResult r;
    r.options = std::move(o);
    return r;
}

} // namespace duet::peer
