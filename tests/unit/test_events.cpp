// SPDX-License-Identifier: MIT
// `--events` output: exact JSON lines, escaping, and the writer's flushing contract.
#include "src/peer/events.h"
#include "src/peer/leg_stats.h"
#include "tests/check_str.h"

#include <json-glib/json-glib.h>
#include <string>

#include <cstdio>
#include <cstring>

using namespace duet::peer;

namespace {

void test_each_event_shape() {
    struct Case {
        Event e;
        const char *json;
    } cases[] = {
        {events::joined("p1", "kitchen", {"p0"}, false),
         R"({"event":"joined","id":"p1","room":"kitchen","peers":["p0"],"resumed":false})"},
        {events::joined("p1", "r", {}, true),
         R"({"event":"joined","id":"p1","room":"r","peers":[],"resumed":true})"},
        {events::peer_joined("p2", true), R"({"event":"peer-joined","peer":"p2","resumed":true,"name":""})"},
        {events::peer_joined("p3", false, "Ana"),
         R"({"event":"peer-joined","peer":"p3","resumed":false,"name":"Ana"})"},
        {events::chat("p3", "Ana", "hi \"you\"\n"),
         R"({"event":"chat","from":"p3","name":"Ana","text":"hi \"you\"\n"})"},
        {events::connected("p2"), R"({"event":"connected","peer":"p2"})"},
        {events::first_frame("video", "p2"),
         R"({"event":"first-frame","kind":"video","peer":"p2"})"},
        {events::first_frame("audio", "p2"),
         R"({"event":"first-frame","kind":"audio","peer":"p2"})"},
        {events::latency("p2", 45, 13.26),
         R"({"event":"latency","peer":"p2","latency_ms":45,"jitter_ms":13.3})"},
        {events::peer_left("p2", "dropped"),
         R"({"event":"peer-left","peer":"p2","reason":"dropped"})"},
        {events::reconnecting(3, 2000), R"({"event":"reconnecting","attempt":3,"delay_ms":2000})"},
        {events::error("room-full", "room is full"),
         R"({"event":"error","code":"room-full","message":"room is full"})"},
        {events::error("session-failed", "x", "p9"),
         R"({"event":"error","code":"session-failed","message":"x","peer":"p9"})"},
    };
    for (const auto &c : cases)
        check_str_eq(format_event(c.e).c_str(), c.json);
}

void test_stats_event() {
    events::ReceiveStats st;
    st.peer = "p2";
    st.state = "connected";
    st.video_frames = 1234;
    st.video_fps = 14.96;
    st.audio_buffers = 4000;
    st.audio_bps = 50;
    // Rates keep one decimal; a whole rate still prints as a JSON number with ".0".
    check_str_eq(format_event(events::stats(st)).c_str(),
                 R"({"event":"stats","peer":"p2","state":"connected","video_frames":1234,)"
                 R"("video_fps":15.0,"audio_buffers":4000,"audio_bps":50.0,"fec_recovered":0})");
    st.video_fps = 0.04;
    st.audio_bps = 7.25;
    std::string line = format_event(events::stats(st));
    g_assert_nonnull(std::strstr(line.c_str(), R"("video_fps":0.0,)"));
    g_assert_nonnull(std::strstr(line.c_str(), R"("audio_bps":7.3,)"));
}

void test_time_field_last() {
    check_str_eq(format_event(events::connected("p"), 1234).c_str(),
                 R"({"event":"connected","peer":"p","t_ms":1234})");
}

void test_escaping_stays_one_line() {
    // Room names are any Unicode text; messages may come from GStreamer with newlines.
    std::string line = format_event(events::joined("a", "k\"itchen\n☕ غرفة", {}, false));
    g_assert_null(std::strchr(line.c_str(), '\n'));
    auto *parser = json_parser_new();
    g_assert_true(json_parser_load_from_data(parser, line.c_str(), -1, nullptr));
    JsonObject *o = json_node_get_object(json_parser_get_root(parser));
    check_str_eq(json_object_get_string_member(o, "room"), "k\"itchen\n☕ غرفة");
    g_object_unref(parser);
}

void test_writer_lines_and_tap() {
    char *buf = nullptr;
    size_t len = 0;
    FILE *mem = open_memstream(&buf, &len);
    int tapped = 0;
    {
        EventWriter w(mem, true);
        w.set_tap([&](const Event &) { ++tapped; });
        w.emit(events::connected("a"));
        // Flushed per line: a reader sees it without waiting for more output.
        g_assert_cmpuint(len, >, 0);
        g_assert_cmpint(buf[len - 1], ==, '\n');
        w.emit(events::connected("b"));
    }
    std::fclose(mem);
    g_assert_cmpint(tapped, ==, 2);
    g_assert_true(g_str_has_prefix(buf, R"({"event":"connected","peer":"a","t_ms":)"));
    g_assert_nonnull(std::strstr(buf, "}\n{\"event\":\"connected\",\"peer\":\"b\""));
    std::free(buf);
}

void test_disabled_writer_prints_nothing() {
    char *buf = nullptr;
    size_t len = 0;
    FILE *mem = open_memstream(&buf, &len);
    int tapped = 0;
    {
        EventWriter w(mem, false);
        w.set_tap([&](const Event &) { ++tapped; });
        w.emit(events::connected("a"));
    }
    std::fclose(mem);
    g_assert_cmpuint(len, ==, 0);
    g_assert_cmpint(tapped, ==, 1); // the tap still sees it
    std::free(buf);
}

} // namespace

// Rates come from the counters' change over the time since the previous sample, starting
// from the leg's start; totals pass through.
void test_leg_stats_rates() {
    duet::peer::LegStats leg(1'000'000);
    auto first = leg.sample("p", "connected", 30, 100, 3'000'000); // 2 s after the start
    g_assert_cmpfloat_with_epsilon(first.video_fps, 15.0, 1e-9);
    g_assert_cmpfloat_with_epsilon(first.audio_bps, 50.0, 1e-9);
    g_assert_cmpuint(first.video_frames, ==, 30);
    check_str_eq(first.state, "connected");
    auto second = leg.sample("p", "connected", 60, 100, 4'000'000); // 1 s later
    g_assert_cmpfloat_with_epsilon(second.video_fps, 30.0, 1e-9);
    g_assert_cmpfloat_with_epsilon(second.audio_bps, 0.0, 1e-9);
    auto same_instant = leg.sample("p", "connected", 60, 100, 4'000'000);
    g_assert_cmpfloat(same_instant.video_fps, ==, 0); // no time passed: no rate, no division
}

int main(int argc, char **argv) {
    g_test_init(&argc, &argv, nullptr);
    g_test_add_func("/events/shapes", test_each_event_shape);
    g_test_add_func("/events/stats", test_stats_event);
    g_test_add_func("/events/leg-stats-rates", test_leg_stats_rates);
    g_test_add_func("/events/time-field", test_time_field_last);
    g_test_add_func("/events/escaping", test_escaping_stays_one_line);
    g_test_add_func("/events/writer", test_writer_lines_and_tap);
    g_test_add_func("/events/disabled", test_disabled_writer_prints_nothing);
    return g_test_run();
}
