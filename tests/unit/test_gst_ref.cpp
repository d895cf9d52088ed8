// SPDX-License-Identifier: MIT
// Ref<T> for GStreamer (common/gst_ref.h): mini-object refcounts, GstObject floating refs.
#include "common/gst_ref.h"

#include <gst/gst.h>

#include <utility>

using duet::Owned;
using duet::Ref;

namespace {

void test_mini_object_counts() {
    GstCaps *raw = gst_caps_new_empty_simple("video/x-raw");
    {
        auto a = Ref<GstCaps>::adopt(raw);
        g_assert_cmpint(GST_MINI_OBJECT_REFCOUNT_VALUE(raw), ==, 1);
        auto b = Ref<GstCaps>::ref(raw);
        g_assert_cmpint(GST_MINI_OBJECT_REFCOUNT_VALUE(raw), ==, 2);
        Ref<GstCaps> c = b;
        g_assert_cmpint(GST_MINI_OBJECT_REFCOUNT_VALUE(raw), ==, 3);
        Ref<GstCaps> d = std::move(c);
        g_assert_false(c);
        g_assert_cmpint(GST_MINI_OBJECT_REFCOUNT_VALUE(raw), ==, 3);
        b.reset();
        g_assert_cmpint(GST_MINI_OBJECT_REFCOUNT_VALUE(raw), ==, 2);
    }
    // Every Ref is gone; a buffer, message and promise work the same way.
    auto buf = Ref<GstBuffer>::adopt(gst_buffer_new());
    auto msg = Ref<GstMessage>::adopt(gst_message_new_eos(nullptr));
    auto promise = Ref<GstPromise>::adopt(gst_promise_new());
    Ref<GstPromise> held = promise;
    g_assert_cmpint(GST_MINI_OBJECT_REFCOUNT_VALUE(promise.get()), ==, 2);
    g_assert_true(buf && msg);
    gst_promise_interrupt(promise.get()); // a pending promise must not be freed
}

void test_element_floating() {
    // gst_element_factory_make gives a floating reference: adopt claims it, so gst_bin_add
    // takes a reference of its own and ours stays valid after the bin is gone.
    auto bin = Ref<GstElement>::adopt(gst_bin_new("bin"));
    auto e = Ref<GstElement>::adopt(gst_element_factory_make("fakesink", nullptr));
    g_assert_nonnull(e.get());
    g_assert_false(g_object_is_floating(e.get()));
    g_assert_cmpuint(GST_OBJECT_REFCOUNT_VALUE(e.get()), ==, 1);
    gst_bin_add(GST_BIN(bin.get()), e.get());
    g_assert_cmpuint(GST_OBJECT_REFCOUNT_VALUE(e.get()), ==, 2);
    bin.reset();
    g_assert_cmpuint(GST_OBJECT_REFCOUNT_VALUE(e.get()), ==, 1);
}

void test_structure_owned() {
    Owned<GstStructure> s(gst_structure_new_empty("duet"));
    g_assert_cmpstr(gst_structure_get_name(s.get()), ==, "duet");
}

} // namespace

int main(int argc, char **argv) {
    gst_init(&argc, &argv);
    g_test_init(&argc, &argv, nullptr);
    g_test_add_func("/gst-ref/mini-object-counts", test_mini_object_counts);
    g_test_add_func("/gst-ref/element-floating", test_element_floating);
    g_test_add_func("/gst-ref/structure-owned", test_structure_owned);
    return g_test_run();
}
