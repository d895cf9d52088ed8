// SPDX-License-Identifier: MIT
// `--latency-ms auto`: jitter in, latency out, raised at once and lowered only after a calm.
// And each sink's own latency (sink_latency.h): one call's jitter buffer does not hold back
// another call's picture, while a picture never plays ahead of the speaker.
#include "pipelines/adaptive_latency.h"
#include "pipelines/receive_branch.h"
#include "pipelines/sink_latency.h"

#include <glib.h>
#include <gst/base/gstbasesink.h>
#include <gst/gst.h>

#include <cmath>
#include <limits>

using namespace duet::pipelines;

namespace {

AdaptiveLatencyConfig config() {
    AdaptiveLatencyConfig c;
    c.start_ms = 20;
    c.min_ms = 10;
    c.max_ms = 400;
    c.jitter_multiple = 3.0;
    c.margin_ms = 5;
    c.step_ms = 5;
    c.hold_samples = 4;
    c.max_decrease_ms = 10;
    return c;
}

void test_starts_small() {
    AdaptiveLatency a(config());
    g_assert_cmpint(a.current_ms(), ==, 20);
}

void test_target_follows_jitter_in_steps() {
    AdaptiveLatency a(config());
    g_assert_cmpint(a.target_ms(0), ==, 10);     // margin 5, floor 10
    g_assert_cmpint(a.target_ms(10), ==, 35);    // 3 x 10 + 5
    g_assert_cmpint(a.target_ms(10.1), ==, 40);  // 35.3, up to the next step
    g_assert_cmpint(a.target_ms(1000), ==, 400); // the cap
    g_assert_cmpint(a.target_ms(-3), ==, 10);    // nonsense reads as no jitter
    g_assert_cmpint(a.target_ms(std::numeric_limits<double>::quiet_NaN()), ==, 10);
    g_assert_cmpint(a.target_ms(std::numeric_limits<double>::infinity()), ==, 10);
}

void test_raises_at_once() {
    AdaptiveLatency a(config());
    auto r = a.update(30); // 95 ms
    g_assert_true(r.has_value());
    g_assert_cmpint(*r, ==, 95);
    g_assert_cmpint(a.current_ms(), ==, 95);
    // The same jitter again changes nothing.
    g_assert_false(a.update(30).has_value());
}

void test_small_wobble_changes_nothing() {
    AdaptiveLatency a(config());
    a.update(30); // 95
    for (int i = 0; i < 20; ++i)
        g_assert_false(a.update(29).has_value()); // 92 -> 95: within a step
    g_assert_cmpint(a.current_ms(), ==, 95);
}

void test_lowers_only_after_a_calm_and_gradually() {
    AdaptiveLatency a(config());
    a.update(30); // 95
    // Three calm samples: not yet.
    for (int i = 0; i < 3; ++i)
        g_assert_false(a.update(0).has_value());
    auto r = a.update(0); // the fourth
    g_assert_true(r.has_value());
    g_assert_cmpint(*r, ==, 85); // at most 10 ms down at a time
    int latency = 85;
    for (int i = 0; i < 100 && latency > 10; ++i)
        if (auto v = a.update(0))
            latency = *v;
    g_assert_cmpint(latency, ==, 10);
    g_assert_cmpint(a.current_ms(), ==, 10);
}

void test_a_burst_restarts_the_calm() {
    AdaptiveLatency a(config());
    a.update(30); // 95
    a.update(0);
    a.update(0);
    a.update(0);
    g_assert_false(a.update(30).has_value()); // jitter is back: the calm starts again
    a.update(0);
    a.update(0);
    a.update(0);
    g_assert_cmpint(a.current_ms(), ==, 95);
    g_assert_true(a.update(0).has_value());
}

void test_lowers_no_further_than_the_calm_asked() {
    auto c = config();
    c.max_decrease_ms = 100;
    AdaptiveLatency a(c);
    a.update(30); // 95
    a.update(0);  // 10
    a.update(15); // 50
    a.update(0);  // 10
    auto r = a.update(0);
    g_assert_true(r.has_value());
    g_assert_cmpint(*r, ==, 50); // the highest target of the calm, not its last
}

void test_start_is_clamped() {
    auto c = config();
    c.start_ms = 1000;
    g_assert_cmpint(AdaptiveLatency(c).current_ms(), ==, 400);
    c.start_ms = 0;
    g_assert_cmpint(AdaptiveLatency(c).current_ms(), ==, 10);
}

constexpr GstClockTime kMs = GST_MSECOND;

void test_plan_keeps_each_sink_its_own() {
    std::vector<SinkLatency> sinks = {
        {SinkKind::Video, true, 45 * kMs},   // a call on a quiet path
        {SinkKind::Video, true, 120 * kMs},  // a jittery one
        {SinkKind::Other, false, 300 * kMs}, // sync=false: never waits
    };
    auto plan = plan_sink_latencies(sinks);
    g_assert_cmpuint(plan.size(), ==, 3);
    g_assert_cmpuint(plan[0], ==, 45 * kMs);
    g_assert_cmpuint(plan[1], ==, 120 * kMs);
    g_assert_cmpuint(plan[2], ==, GST_CLOCK_TIME_NONE);
}

void test_plan_holds_pictures_to_the_speaker() {
    std::vector<SinkLatency> sinks = {
        {SinkKind::Video, true, 45 * kMs},   {SinkKind::Audio, true, 80 * kMs},
        {SinkKind::Video, true, 120 * kMs},  {SinkKind::Other, true, 10 * kMs},
        {SinkKind::Audio, false, 500 * kMs}, // not live: not the speaker
    };
    auto plan = plan_sink_latencies(sinks);
    g_assert_cmpuint(plan[0], ==, 80 * kMs - kPictureLeadNs); // at most 30 ms ahead
    g_assert_cmpuint(plan[1], ==, 80 * kMs);
    g_assert_cmpuint(plan[2], ==, 120 * kMs); // later than the speaker already
    g_assert_cmpuint(plan[3], ==, 10 * kMs);
    g_assert_cmpuint(plan[4], ==, GST_CLOCK_TIME_NONE);
    g_assert_true(plan_sink_latencies({}).empty());
    // A picture only a little quicker than the speaker keeps its own latency; one with no
    // latency at all still plays no more than kPictureLeadNs ahead.
    auto near =
        plan_sink_latencies({{SinkKind::Video, true, 70 * kMs}, {SinkKind::Audio, true, 80 * kMs}});
    g_assert_cmpuint(near[0], ==, 70 * kMs);
    auto bare =
        plan_sink_latencies({{SinkKind::Video, true, 0}, {SinkKind::Audio, true, 20 * kMs}});
    g_assert_cmpuint(bare[0], ==, 0);
}

// Real live sources of known latency (a live source needs one buffer: 100 ms, 33 ms, 10 ms)
// into synchronised sinks (no processing deadline, so the figures are exact), in one pipeline,
// played: each sink gets what its own branch needs, the picture at least the speaker's.
GstClockTime sink_latency(GstElement *pipeline, const char *name) {
    GstElement *sink = gst_bin_get_by_name(GST_BIN(pipeline), name);
    g_assert_nonnull(sink);
    if (GST_IS_BIN(sink)) { // fakevideosink: the fakesink inside does the waiting
        GstIterator *it = gst_bin_iterate_sinks(GST_BIN(sink));
        GValue v = G_VALUE_INIT;
        g_assert_cmpint(gst_iterator_next(it, &v), ==, GST_ITERATOR_OK);
        gst_object_unref(sink);
        sink = GST_ELEMENT(g_value_dup_object(&v));
        g_value_unset(&v);
        gst_iterator_free(it);
    }
    GstClockTime l = gst_base_sink_get_latency(GST_BASE_SINK(sink));
    gst_object_unref(sink);
    return l;
}

GstElement *play(const char *description) {
    GError *err = nullptr;
    GstElement *p = gst_parse_launch(description, &err);
    g_assert_no_error(err);
    distribute_latency_per_sink(GST_BIN(p));
    g_assert_cmpint(gst_element_set_state(p, GST_STATE_PLAYING), !=, GST_STATE_CHANGE_FAILURE);
    g_assert_cmpint(gst_element_get_state(p, nullptr, nullptr, 10 * GST_SECOND), ==,
                    GST_STATE_CHANGE_SUCCESS);
    return p;
}

void stop(GstElement *p) {
    gst_element_set_state(p, GST_STATE_NULL);
    gst_object_unref(p);
}

void test_pipeline_sinks_get_their_own_latency() {
    GstElement *p =
        play("audiotestsrc is-live=true samplesperbuffer=4800 ! audio/x-raw,rate=48000 ! fakesink "
             "name=slow sync=true processing-deadline=0 "
             "audiotestsrc is-live=true samplesperbuffer=480 ! audio/x-raw,rate=48000 ! fakesink "
             "name=fast sync=true processing-deadline=0 "
             "videotestsrc is-live=true ! video/x-raw,framerate=30/1,width=64,height=48 ! "
             "fakevideosink name=picture sync=true processing-deadline=0");
    // GStreamer's own distribution would give all three 100 ms.
    g_assert_cmpuint(sink_latency(p, "slow"), ==, 100 * kMs);
    g_assert_cmpuint(sink_latency(p, "fast"), ==, 10 * kMs);
    g_assert_cmpuint(sink_latency(p, "picture"), >=, 33 * kMs);
    g_assert_cmpuint(sink_latency(p, "picture"), <, 34 * kMs);
    stop(p);
}

void test_pipeline_picture_waits_for_the_speaker() {
    // The simulated room's speaker is a fakesink by this name (launch.h's kRoomSpeakerName).
    GstElement *p =
        play("audiotestsrc is-live=true samplesperbuffer=4800 ! audio/x-raw,rate=48000 ! fakesink "
             "name=room_speaker sync=true processing-deadline=0 "
             "videotestsrc is-live=true ! video/x-raw,framerate=30/1,width=64,height=48 ! "
             "fakevideosink name=picture sync=true processing-deadline=0");
    g_assert_cmpuint(sink_latency(p, "room_speaker"), ==, 100 * kMs);
    g_assert_cmpuint(sink_latency(p, "picture"), ==, 100 * kMs - kPictureLeadNs); // own: 33
    stop(p);
}

// opusdec with in-band FEC holds one packet back but says 120 ms; capped, a 20 ms source
// and Opus encoder (20 ms each) plus one packet held makes 60 ms.
void test_opus_fec_latency_is_one_packet() {
    const char *desc = "audiotestsrc is-live=true samplesperbuffer=960 ! audio/x-raw,rate=48000 ! "
                       "opusenc ! opusdec name=dec use-inband-fec=true ! "
                       "fakesink name=out sync=true processing-deadline=0";
    GError *err = nullptr;
    GstElement *p = gst_parse_launch(desc, &err);
    g_assert_no_error(err);
    GstElement *dec = gst_bin_get_by_name(GST_BIN(p), "dec");
    cap_decoder_latency(dec, kOpusPacketNs);
    gst_object_unref(dec);
    g_assert_cmpint(gst_element_set_state(p, GST_STATE_PLAYING), !=, GST_STATE_CHANGE_FAILURE);
    g_assert_cmpint(gst_element_get_state(p, nullptr, nullptr, 10 * GST_SECOND), ==,
                    GST_STATE_CHANGE_SUCCESS);
    g_assert_cmpuint(sink_latency(p, "out"), ==, 60 * kMs); // uncapped: 160
    stop(p);
}

} // namespace

int main(int argc, char **argv) {
    gst_init(&argc, &argv);
    g_test_init(&argc, &argv, nullptr);
    g_test_add_func("/sink-latency/plan-own", test_plan_keeps_each_sink_its_own);
    g_test_add_func("/sink-latency/plan-speaker", test_plan_holds_pictures_to_the_speaker);
    g_test_add_func("/sink-latency/pipeline-own", test_pipeline_sinks_get_their_own_latency);
    g_test_add_func("/sink-latency/pipeline-speaker", test_pipeline_picture_waits_for_the_speaker);
    g_test_add_func("/sink-latency/opus-fec-one-packet", test_opus_fec_latency_is_one_packet);
    g_test_add_func("/adaptive-latency/starts-small", test_starts_small);
    g_test_add_func("/adaptive-latency/target-follows-jitter", test_target_follows_jitter_in_steps);
    g_test_add_func("/adaptive-latency/raises-at-once", test_raises_at_once);
    g_test_add_func("/adaptive-latency/wobble", test_small_wobble_changes_nothing);
    g_test_add_func("/adaptive-latency/lowers-after-calm",
                    test_lowers_only_after_a_calm_and_gradually);
    g_test_add_func("/adaptive-latency/burst-restarts-calm", test_a_burst_restarts_the_calm);
    g_test_add_func("/adaptive-latency/lowers-to-calm-max",
                    test_lowers_no_further_than_the_calm_asked);
    g_test_add_func("/adaptive-latency/start-clamped", test_start_is_clamped);
    return g_test_run();
}
