// SPDX-License-Identifier: MIT
// duet-peer flags, backoff delays and iceServers conversion.
#include "src/peer/backoff.h"
#include "src/peer/cli.h"
#include "src/peer/ice_servers.h"

#include <glib.h>

#include "tests/check_str.h"
#include <glib/gstdio.h>
#include <unistd.h>

#include <filesystem>
#include <string>

using namespace duet::peer;
using duet::pipelines::AudioSource;
using duet::pipelines::SinkMode;
using duet::pipelines::VideoSource;

namespace {

duet::Result<PeerOptions> parse(std::vector<std::string> args) {
    args.insert(args.begin(), "duet-peer");
    return parse_cli(args);
}

// A kiosk keeps its settings in a key-file; flags on the command line still win.
void test_config_file() {
    gchar *path = nullptr;
    gint fd = g_file_open_tmp("duet-peer-XXXXXX.conf", &path, nullptr);
    g_assert_cmpint(fd, >=, 0);
    const char *text = "[peer]\nroom=grandma\nserver=wss://example.org/ws\nevents=true\n"
                       "relay-only=false\nsize=320x240\nfps=24\n"
                       "turn=turn://u:p@a.example:3478;turns://u:p@b.example:5349\n";
    g_assert_true(g_file_set_contents(path, text, -1, nullptr));
    close(fd);

    auto r = parse({"--config", path, "--fps", "15"});
    g_assert_true(r.ok());
    check_str_eq(r->room, "grandma");
    check_str_eq(r->server, "wss://example.org/ws");
    g_assert_true(r->events);
    g_assert_false(r->relay_only);
    g_assert_cmpint(r->media.width, ==, 320);
    g_assert_cmpint(r->media.fps, ==, 15); // the command line wins
    g_assert_cmpuint(r->turns.size(), ==, 2);

    auto over = parse({"--room", "lab", "--config=" + std::string(path)});
    check_str_eq(over->room, "lab");

    g_assert_false(parse({"--config", "/nonexistent/duet.conf"}).ok());
    g_assert_false(parse({"--config"}).ok());
    g_assert_true(g_file_set_contents(path, "[peer]\nroom=x\nno-such-flag=1\n", -1, nullptr));
    auto unknown = parse({"--config", path});
    g_assert_false(unknown.ok());
    g_assert_true(unknown.message().find("'no-such-flag'") != std::string::npos);
    // A bad value in the file names its key; a list on the command line replaces the file's.
    g_assert_true(g_file_set_contents(path, "[peer]\nroom=x\nfps=fast\n", -1, nullptr));
    g_assert_true(parse({"--config", path}).message().find("--fps") != std::string::npos);
    g_assert_true(g_file_set_contents(
        path, "[peer]\nroom=x\nrelay-only=true\nturn=turn://u:p@a.example:3478\n", -1, nullptr));
    auto both = parse({"--config", path, "--turn", "turns://u:p@b.example:5349"});
    g_assert_true(both.ok());
    g_assert_true(both->relay_only);
    g_assert_cmpuint(both->turns.size(), ==, 1);
    check_str_eq(both->turns[0], "turns://u:p@b.example:5349");
    g_remove(path);
    g_free(path);
}

void test_defaults() {
    auto r = parse({"--room", "  kitchen  "});
    g_assert_true(r.ok());
    const PeerOptions &o = r.value();
    check_str_eq(o.room.c_str(), "kitchen"); // trimmed like the server does
    check_str_eq(o.server.c_str(), "ws://127.0.0.1:8080/ws");
    g_assert_true(o.media.video_source == VideoSource::Auto);
    g_assert_true(o.media.audio_source == AudioSource::Auto);
    g_assert_true(o.media.sink == SinkMode::Auto);
    g_assert_cmpint(o.media.width, ==, 640);
    g_assert_cmpint(o.media.height, ==, 480);
    g_assert_cmpint(o.media.fps, ==, 30);
    g_assert_cmpint(o.media.video_kbps, ==, 800);
    g_assert_cmpint(o.media.latency_ms, ==, duet::pipelines::kLatencyAuto); // follows the jitter
    g_assert_false(o.events);
    g_assert_cmpint(o.stats_interval_ms, ==, 1000);
    g_assert_cmpint(o.duration_s, ==, 0);
    g_assert_cmpint(o.connect_timeout_s, ==, 0);
    g_assert_cmpint(o.media.encoder_threads, >=, 1);
}

void test_every_flag() {
    auto r = parse({"--room=r",
                    "--server",
                    "wss://duet.example.org/ws",
                    "--video-source",
                    "camera",
                    "--audio-source",
                    "mic",
                    "--sink",
                    "window",
                    "--record",
                    "/tmp/x.webm",
                    "--events",
                    "--duration",
                    "30",
                    "--video-device",
                    "/dev/video2",
                    "--size",
                    "1280x720",
                    "--fps",
                    "25",
                    "--video-bitrate",
                    "1500",
                    "--latency-ms",
                    "120",
                    "--connect-timeout",
                    "60",
                    "--state-dir",
                    "/tmp/duet-state",
                    "--stats-interval",
                    "250"});
    g_assert_true(r.ok());
    const PeerOptions &o = r.value();
    check_str_eq(o.server.c_str(), "wss://duet.example.org/ws");
    g_assert_true(o.media.video_source == VideoSource::Camera);
    g_assert_true(o.media.audio_source == AudioSource::Mic);
    g_assert_true(o.media.sink == SinkMode::Window);
    check_str_eq(o.media.record_path.c_str(), "/tmp/x.webm");
    g_assert_true(o.events);
    g_assert_cmpint(o.duration_s, ==, 30);
    check_str_eq(o.media.video_device.c_str(), "/dev/video2");
    g_assert_cmpint(o.media.width, ==, 1280);
    g_assert_cmpint(o.media.height, ==, 720);
    g_assert_cmpint(o.media.fps, ==, 25);
    g_assert_cmpint(o.media.video_kbps, ==, 1500);
    g_assert_cmpint(o.media.latency_ms, ==, 120);
    g_assert_cmpint(o.connect_timeout_s, ==, 60);
    check_str_eq(o.state_dir.c_str(), "/tmp/duet-state");
    g_assert_cmpint(o.stats_interval_ms, ==, 250);
    // 0 turns the stats lines off.
    auto off = parse({"--room", "r", "--stats-interval", "0"});
    g_assert_true(off.ok());
    g_assert_cmpint(off->stats_interval_ms, ==, 0);
    // A number pins the latency; `auto` asks for it to follow the jitter.
    auto pinned = parse({"--room", "r", "--latency-ms", "0"});
    g_assert_true(pinned.ok());
    g_assert_cmpint(pinned->media.latency_ms, ==, 0);
    auto follow = parse({"--room", "r", "--latency-ms", "120", "--latency-ms", "auto"});
    g_assert_true(follow.ok());
    g_assert_cmpint(follow->media.latency_ms, ==, duet::pipelines::kLatencyAuto);
}

void test_usage_errors() {
    std::vector<std::vector<std::string>> bad = {
        {},
        {"--room", ""},
        {"--room", "\t"},
        {"--room", std::string(65, 'x')},
        {"--room", "r", "--server", "http://127.0.0.1:8080/ws"},
        {"--room", "r", "--server", "ws://"},
        {"--room", "r", "--server", "127.0.0.1:8080"},
        {"--room", "r", "--video-source", "webcam"},
        {"--room", "r", "--audio-source", "line-in"},
        {"--room", "r", "--sink", "hdmi"},
        {"--room", "r", "--size", "640x"},
        {"--room", "r", "--size", "641x480"},
        {"--room", "r", "--size", "99999x480"},
        {"--room", "r", "--fps", "0"},
        {"--room", "r", "--fps", "abc"},
        {"--room", "r", "--video-bitrate", "1"},
        {"--room", "r", "--latency-ms", "-1"},
        {"--room", "r", "--latency-ms", "5001"},
        {"--room", "r", "--latency-ms", "12ms"},
        {"--room", "r", "--latency-ms", ""},
        {"--room", "r", "--latency-ms", "Auto"},
        {"--room", "r", "--duration", "-5"},
        {"--room", "r", "--connect-timeout", "-1"},
        {"--room", "r", "--stats-interval", "-1"},
        {"--room", "r", "--stats-interval", "5"},
        {"--room", "r", "--stats-interval", "600000"},
        {"--room", "r", "--record", ""},
        {"--room", "r", "extra"},
        {"--room", "r", "--nope"},
    };
    for (const auto &args : bad) {
        auto r = parse(args);
        if (r.ok()) {
            std::string joined;
            for (auto &a : args)
                joined += a + " ";
            g_printerr("accepted: %s\n", joined.c_str());
        }
        g_assert_false(r.ok());
        g_assert_false(r.message().empty());
    }
}

void test_size_and_url_helpers() {
    auto s = parse_size("320x240");
    g_assert_true(s && s->first == 320 && s->second == 240);
    g_assert_false(parse_size("320x240x3").has_value());
    g_assert_false(parse_size("x").has_value());
    g_assert_true(valid_server_url("ws://[::1]:8080/ws").ok());
    g_assert_true(valid_server_url("wss://example.org/ws").ok());
    auto why = valid_server_url("https://example.org/ws");
    g_assert_false(why.ok());
    g_assert_true(why.message().find("ws://") != std::string::npos);
}

void test_backoff_grows_caps_and_jitters() {
    // random=1: the nominal delay; random=0: half of it.
    Backoff top(500, 10000, [] { return 1.0; });
    unsigned expect[] = {500, 1000, 2000, 4000, 8000, 10000, 10000};
    for (unsigned e : expect)
        g_assert_cmpuint(top.next(), ==, e);
    g_assert_cmpuint(top.attempt(), ==, 7);
    top.reset();
    g_assert_cmpuint(top.next(), ==, 500);
    Backoff low(500, 10000, [] { return 0.0; });
    g_assert_cmpuint(low.next(), ==, 250);
    g_assert_cmpuint(low.next(), ==, 500);
    Backoff real;
    for (int i = 0; i < 20; ++i) {
        unsigned d = real.next();
        g_assert_cmpuint(d, <=, kBackoffMaxMs);
        g_assert_cmpuint(d, >=, kBackoffInitialMs / 2);
    }
}

void test_ice_servers() {
    IceConfig c = parse_ice_servers(
        R"([{"urls":"stun:stun.example.org:3478"},
            {"urls":["turn:turn.example.org:3478?transport=udp","turns:turn.example.org:5349"],
             "username":"u:1","credential":"p@ss/word"},
            {"urls":"turn:noauth.example.org"},
            {"urls":"http://nope"}, 42, {"urls": 7}])");
    check_str_eq(c.stun.c_str(), "stun://stun.example.org:3478");
    g_assert_cmpuint(c.turns.size(), ==, 2);
    // Credentials are URI-escaped so ':' and '@' in them cannot break webrtcbin's parser.
    check_str_eq(c.turns[0].c_str(),
                 "turn://u%3A1:p%40ss%2Fword@turn.example.org:3478?transport=udp");
    check_str_eq(c.turns[1].c_str(), "turns://u%3A1:p%40ss%2Fword@turn.example.org:5349");
    g_assert_true(parse_ice_servers("[]").stun.empty());
    g_assert_true(parse_ice_servers("not json").turns.empty());
}

// A throwaway self-signed CA certificate (no key anywhere): enough for --ca-file to load.
const char *const kCaPem = "-----BEGIN CERTIFICATE-----\n"
                           "MIIBjzCCATWgAwIBAgIUBKfGzejHyP+i16wjoe3JEZWccN8wCgYIKoZIzj0EAwIw\n"
                           "HDEaMBgGA1UEAwwRZHVldC11bml0LXRlc3QtY2EwIBcNMjYxMTIyMDAwOTE0WhgP\n"
                           "MjEyNjEwMjkwMDA5MTRaMBwxGjAYBgNVBAMMEWR1ZXQtdW5pdC10ZXN0LWNhMFkw\n"
                           "EwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE5ZWzPniafFs3wHXTOIC8ZZkqe48wuXNZ\n"
                           "F8GfKLVRglFK1ebN/TXxaJnRJqDUx3+Oq/QBB/tix/DpRa2aoGZyFqNTMFEwHQYD\n"
                           "VR0OBBYEFJ/lSsfoJdmtBdzjoH4Ru/KWPmngMB8GA1UdIwQYMBaAFJ/lSsfoJdmt\n"
                           "BdzjoH4Ru/KWPmngMA8GA1UdEwEB/wQFMAMBAf8wCgYIKoZIzj0EAwIDSAAwRQIg\n"
                           "LyRxdJPETCrlpv3qG7mq6Mi/lJI7pXp5NGMPtyDxaT8CIQCIu2WSI+ISGUUaKQcI\n"
                           "ef4vizjRirudfn2QwWP9DHqyCQ==\n"
                           "-----END CERTIFICATE-----\n";

// Writes `text` to a fresh file in a temporary directory; returns its path.
std::string temp_file(const char *name, const std::string &text) {
    static std::string dir = [] {
        GError *err = nullptr;
        gchar *d = g_dir_make_tmp("duet-peer-cli-XXXXXX", &err);
        g_assert_no_error(err);
        std::string out(d);
        g_free(d);
        return out;
    }();
    std::string path = dir + "/" + name;
    g_assert_true(g_file_set_contents(path.c_str(), text.c_str(), gssize(text.size()), nullptr));
    return path;
}

void test_tls_and_ice_flags() {
    std::string ca = temp_file("ca.pem", kCaPem);
    auto r = parse({"--room", "r", "--server", "wss://10.0.0.5:8443/ws", "--ca-file", ca, "--stun",
                    "stun:stun.example.org:3478", "--turn",
                    "turn://u:p@turn.example.org:3478?transport=udp", "--turn",
                    "turns://a%3Ab:c@turn.example.org:5349", "--relay-only"});
    if (!r.ok())
        g_printerr("%s\n", r.message().c_str());
    g_assert_true(r.ok());
    const PeerOptions &o = r.value();
    check_str_eq(o.ca_file.c_str(), ca.c_str());
    check_str_eq(o.stun.c_str(), "stun://stun.example.org:3478"); // webrtcbin's form
    g_assert_cmpuint(o.turns.size(), ==, 2);
    check_str_eq(o.turns[0].c_str(), "turn://u:p@turn.example.org:3478?transport=udp");
    check_str_eq(o.turns[1].c_str(), "turns://a%3Ab:c@turn.example.org:5349");
    g_assert_true(o.relay_only);

    // Defaults: the system's CAs, no local ICE servers, every transport allowed.
    auto d = parse({"--room", "r"});
    g_assert_true(d->ca_file.empty());
    g_assert_true(d->stun.empty());
    g_assert_true(d->turns.empty());
    g_assert_false(d->relay_only);
    // A relative --ca-file is made absolute (GTlsFileDatabase insists on it).
    std::string rel = "duet-peer-cli-" + std::to_string(getpid()) + ".pem";
    g_assert_true(g_file_set_contents(rel.c_str(), kCaPem, -1, nullptr));
    auto relative = parse({"--room", "r", "--ca-file", rel});
    g_remove(rel.c_str());
    g_assert_true(relative.ok());
    g_assert_true(g_path_is_absolute(relative->ca_file.c_str()));
    g_assert_true(g_str_has_suffix(relative->ca_file.c_str(), ("/" + rel).c_str()));
    check_str_eq(parse({"--room", "r", "--stun", "stun://h:19302"}).value().stun.c_str(),
                 "stun://h:19302");

    std::string empty = temp_file("empty.pem", "");
    std::string junk = temp_file("junk.pem", "not a certificate\n");
    std::vector<std::pair<std::vector<std::string>, const char *>> bad = {
        {{"--ca-file", "/nonexistent/ca.pem"}, "--ca-file"},
        {{"--ca-file", ""}, "--ca-file"},
        {{"--ca-file", empty}, "--ca-file"},
        {{"--ca-file", junk}, "--ca-file"},
        {{"--stun", "stun.example.org:3478"}, "--stun"},
        {{"--stun", "stun:"}, "--stun"},
        {{"--stun", "stun://host"}, "--stun"},
        {{"--stun", "stun://u:p@host:3478"}, "--stun"},
        {{"--stun", "turn://u:p@host:3478"}, "--stun"},
        {{"--turn", "turn:host:3478"}, "--turn"},
        {{"--turn", "turn://host:3478"}, "--turn"},
        {{"--turn", "turn://user@host:3478"}, "--turn"},
        {{"--turn", "turn://u:p@host"}, "--turn"},
        {{"--turn", "turn://u:p@:3478"}, "--turn"},
        {{"--turn", "stun://u:p@host:3478"}, "--turn"},
        {{"--turn", "turn://u:p@host:3478/path"}, "--turn"},
        {{"--turn", "turn://u:p@h:3478", "--turn", "bogus"}, "--turn"},
    };
    for (auto &[args, flag] : bad) {
        std::vector<std::string> full{"--room", "r"};
        full.insert(full.end(), args.begin(), args.end());
        auto e = parse(full);
        if (e.ok())
            g_printerr("accepted: %s %s\n", args[0].c_str(), args.back().c_str());
        g_assert_false(e.ok());
        if (e.message().find(flag) == std::string::npos)
            g_printerr("message without %s: %s\n", flag, e.message().c_str());
        g_assert_true(e.message().find(flag) != std::string::npos); // says which flag
    }
    for (const char *f : {"ca.pem", "empty.pem", "junk.pem"})
        g_remove((std::filesystem::path(ca).parent_path() / f).c_str());
    g_rmdir(std::filesystem::path(ca).parent_path().c_str());
}

} // namespace

int main(int argc, char **argv) {
    g_test_init(&argc, &argv, nullptr);
    g_test_add_func("/peer-cli/config-file", test_config_file);
    g_test_add_func("/peer-cli/defaults", test_defaults);
    g_test_add_func("/peer-cli/every-flag", test_every_flag);
    g_test_add_func("/peer-cli/usage-errors", test_usage_errors);
    g_test_add_func("/peer-cli/helpers", test_size_and_url_helpers);
    g_test_add_func("/peer-cli/backoff", test_backoff_grows_caps_and_jitters);
    g_test_add_func("/peer-cli/ice-servers", test_ice_servers);
    g_test_add_func("/peer-cli/tls-and-ice-flags", test_tls_and_ice_flags);
    return g_test_run();
}
