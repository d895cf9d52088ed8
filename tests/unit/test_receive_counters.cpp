// SPDX-License-Identifier: MIT
// The decode counters behind the `stats` event: every buffer out of the decoder counts once.
#include "pipelines/receive_branch.h"

#include <gst/gst.h>

#include <memory>

using namespace duet::pipelines;

namespace {

// Runs `fakesrc num-buffers=N ! identity name=decoder ! fakesink` with the counting probe
// on `identity`, standing in for a receive branch of `kind`.
std::shared_ptr<DecodeCounters> count_through(MediaKind kind, int buffers) {
    std::string desc =
        "fakesrc num-buffers=" + std::to_string(buffers) + " ! identity name=dec ! fakesink";
    GstElement *pipeline = gst_parse_launch(desc.c_str(), nullptr);
    g_assert_nonnull(pipeline);
    ReceiveBranch branch;
    branch.codec = &codec_spec(kind == MediaKind::Video ? Codec::VP8 : Codec::Opus);
    branch.decoder = gst_bin_get_by_name(GST_BIN(pipeline), "dec");
    auto counters = std::make_shared<DecodeCounters>();
    count_decoded(branch, counters);
    gst_object_unref(branch.decoder);
    gst_element_set_state(pipeline, GST_STATE_PLAYING);
    GstBus *bus = gst_element_get_bus(pipeline);
    GstMessage *msg = gst_bus_timed_pop_filtered(
        bus, 10 * GST_SECOND, GstMessageType(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
    g_assert_nonnull(msg);
    g_assert_cmpint(GST_MESSAGE_TYPE(msg), ==, GST_MESSAGE_EOS);
    gst_message_unref(msg);
    gst_object_unref(bus);
    gst_element_set_state(pipeline, GST_STATE_NULL);
    gst_object_unref(pipeline);
    return counters;
}

void test_video_frames_counted() {
    auto c = count_through(MediaKind::Video, 7);
    g_assert_cmpuint(c->video_frames.load(), ==, 7);
    g_assert_cmpuint(c->audio_buffers.load(), ==, 0);
}

void test_audio_buffers_counted() {
    auto c = count_through(MediaKind::Audio, 5);
    g_assert_cmpuint(c->audio_buffers.load(), ==, 5);
    g_assert_cmpuint(c->video_frames.load(), ==, 0);
}

// A discard branch (no decoder, unknown kind) is left alone.
void test_discard_branch_counts_nothing() {
    ReceiveBranch branch;
    auto counters = std::make_shared<DecodeCounters>();
    count_decoded(branch, counters);
    g_assert_cmpuint(counters->video_frames.load(), ==, 0);
    g_assert_true(counters.use_count() == 1); // no probe holds it
}

} // namespace

int main(int argc, char **argv) {
    gst_init(&argc, &argv);
    g_test_init(&argc, &argv, nullptr);
    g_test_add_func("/receive-counters/video", test_video_frames_counted);
    g_test_add_func("/receive-counters/audio", test_audio_buffers_counted);
    g_test_add_func("/receive-counters/discard", test_discard_branch_counts_nothing);
    return g_test_run();
}
