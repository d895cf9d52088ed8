// SPDX-License-Identifier: MIT
// Cameras: the libcamera send description, which camera stack is chosen, H.264 in a
// device's caps, and the probes on this machine (skipped where a real camera is needed).
#include "common/gst_ref.h"
#include "pipelines/devices.h"
#include "pipelines/launch.h"
#include "tests/check_str.h"

#include <gst/gst.h>

#include <cstring>
#include <string>
#include <vector>

using namespace duet;
using namespace duet::pipelines;

namespace {

bool contains(const std::string &haystack, const char *needle) {
    return haystack.find(needle) != std::string::npos;
}

// ---- the libcamera send description ----

std::string factory_name(GstElement *e) {
    GstElementFactory *f = e ? gst_element_get_factory(e) : nullptr;
    return f ? GST_OBJECT_NAME(f) : "(nothing)";
}

// The element after `e` (through its "src" pad); the bin keeps it alive.
GstElement *next_of(GstElement *e) {
    auto pad = Ref<GstPad>::adopt(gst_element_get_static_pad(e, "src"));
    if (!pad)
        return nullptr;
    auto peer = Ref<GstPad>::adopt(gst_pad_get_peer(pad.get()));
    if (!peer)
        return nullptr;
    return Ref<GstElement>::adopt(gst_pad_get_parent_element(peer.get())).get();
}

// Whether any element directly in `bin` is made by `factory`.
bool bin_has(GstElement *bin, const char *factory) {
    bool found = false;
    GstIterator *it = gst_bin_iterate_elements(GST_BIN(bin));
    GValue v = G_VALUE_INIT;
    while (gst_iterator_next(it, &v) == GST_ITERATOR_OK) {
        found = found || factory_name(GST_ELEMENT(g_value_get_object(&v))) == factory;
        g_value_reset(&v);
    }
    g_value_unset(&v);
    gst_iterator_free(it);
    return found;
}

// The one structure of a capsfilter's caps.
Ref<GstCaps> filter_caps(GstElement *capsfilter) {
    check_str_eq(factory_name(capsfilter), "capsfilter");
    Ref<GstCaps> caps;
    g_object_get(capsfilter, "caps", caps.out(), nullptr);
    g_assert_nonnull(caps.get());
    g_assert_cmpuint(gst_caps_get_size(caps.get()), ==, 1);
    return caps;
}

int caps_int(const GstCaps *caps, const char *field) {
    int v = -1;
    g_assert_true(gst_structure_get_int(gst_caps_get_structure(caps, 0), field, &v));
    return v;
}

MediaOptions small_options() {
    MediaOptions o;
    o.width = 320;
    o.height = 240;
    o.fps = 15;
    return o;
}

ResolvedMedia libcamera_media(const std::string &name) {
    ResolvedMedia m;
    m.camera = true;
    m.camera_stack = CameraStack::Libcamera;
    m.video_device = name;
    return m;
}

// Parsed as CallPipeline parses it, then walked from the camera to the encoder.
void check_libcamera_chain(const std::string &desc) {
    GErr err;
    auto bin =
        Ref<GstElement>::adopt(gst_parse_bin_from_description(desc.c_str(), TRUE, err.out()));
    g_assert_true(bin);
    auto cam = Ref<GstElement>::adopt(gst_bin_get_by_name(GST_BIN(bin.get()), kCameraName));
    check_str_eq(factory_name(cam.get()), "libcamerasrc");
    g_assert_cmpint(GST_ELEMENT(cam.get())->numsinkpads, ==, 0);
    // The property CallPipeline sets the camera's name in exists on the element.
    g_assert_nonnull(g_object_class_find_property(G_OBJECT_GET_CLASS(cam.get()),
                                                  camera_device_property(CameraStack::Libcamera)));
    // The camera is asked for the sent size (its ISP scales)...
    GstElement *e = next_of(cam.get());
    {
        auto caps = filter_caps(e);
        g_assert_true(gst_structure_has_name(gst_caps_get_structure(caps.get(), 0), "video/x-raw"));
        g_assert_cmpint(caps_int(caps.get(), "width"), ==, 320);
        g_assert_cmpint(caps_int(caps.get(), "height"), ==, 240);
    }
    // ...then converted, scaled and paced to what the encoders take.
    for (const char *f : {"videoconvert", "videoscale", "videorate"}) {
        e = next_of(e);
        check_str_eq(factory_name(e), f);
    }
    e = next_of(e);
    {
        auto caps = filter_caps(e);
        const GstStructure *s = gst_caps_get_structure(caps.get(), 0);
        check_str_eq(gst_structure_get_string(s, "format"), "I420");
        g_assert_cmpint(caps_int(caps.get(), "width"), ==, 320);
        g_assert_cmpint(caps_int(caps.get(), "height"), ==, 240);
        int n = 0, d = 0;
        g_assert_true(gst_structure_get_fraction(s, "framerate", &n, &d));
        g_assert_cmpint(n, ==, 15);
        g_assert_cmpint(d, ==, 1);
    }
    // Raw frames end in the tee that every call leg encodes from.
    GstElement *tee = next_of(e);
    check_str_eq(factory_name(tee), "tee");
    check_str_eq(GST_OBJECT_NAME(tee), kVideoTeeName);
    for (const char *absent : {"v4l2src", "videotestsrc", "decodebin"})
        g_assert_false(bin_has(bin.get(), absent));
}

// The links as written, which need no libcamerasrc (without it the description cannot be
// parsed).
void check_libcamera_links(const std::string &desc) {
    std::vector<std::string> parts;
    Owned<gchar *> split(g_strsplit(desc.c_str(), " ! ", -1));
    for (gchar **p = split.get(); *p; ++p)
        parts.emplace_back(g_strstrip(*p));
    g_assert_cmpuint(parts.size(), >=, 7);
    check_str_eq(parts[0], std::string("libcamerasrc name=") + kCameraName);
    auto size = Ref<GstCaps>::adopt(gst_caps_from_string(parts[1].c_str()));
    g_assert_nonnull(size.get());
    g_assert_cmpint(caps_int(size.get(), "width"), ==, 320);
    g_assert_cmpint(caps_int(size.get(), "height"), ==, 240);
    check_str_eq(parts[2], "videoconvert");
    check_str_eq(parts[3], "videoscale");
    check_str_eq(parts[4], "videorate");
    auto raw = Ref<GstCaps>::adopt(gst_caps_from_string(parts[5].c_str()));
    g_assert_nonnull(raw.get());
    g_assert_cmpint(caps_int(raw.get(), "width"), ==, 320);
    g_assert_true(
        g_str_has_prefix(parts[6].c_str(), (std::string("tee name=") + kVideoTeeName).c_str()));
}

void test_libcamera_description() {
    // A name that tries to add elements: it is set as a property, never pasted in.
    ResolvedMedia m = libcamera_media("/base/soc/i2c0mux/i2c@1/imx219@10 ! fakesink name=x");
    std::string desc = video_send_description(small_options(), m);
    g_assert_false(contains(desc, "imx219"));
    g_assert_false(contains(desc, "v4l2src"));
    g_assert_false(contains(desc, "videotestsrc"));
    check_libcamera_links(desc);
    if (have_libcamera_plugin())
        check_libcamera_chain(desc);
    else
        g_test_message("libcamerasrc is not installed (gstreamer1.0-libcamera): the "
                       "description's links were checked as written, not parsed");
}

// v4l2 stays as it was when the stack says so.
void test_v4l2_description_unchanged() {
    ResolvedMedia m;
    m.camera = true;
    std::string desc = video_send_description(small_options(), m);
    g_assert_true(g_str_has_prefix(desc.c_str(), "v4l2src name=camera"));
    g_assert_false(contains(desc, "libcamerasrc"));
    check_str_eq(camera_device_property(CameraStack::V4l2), "device");
}

// ---- which camera is used ----

// Probes that count their calls and answer as told.
struct FakeProbes {
    bool plugin = true;
    bool libcamera_works = false;
    bool v4l2_works = false;
    int libcamera_calls = 0;
    int v4l2_calls = 0;

    CameraProbes probes() {
        CameraProbes p;
        p.libcamera_plugin = plugin;
        p.libcamera = [this]() -> Result<FoundCamera> {
            ++libcamera_calls;
            if (!libcamera_works)
                return fail("Could not find any supported camera on this system.");
            return FoundCamera{CameraStack::Libcamera, "imx708", {}};
        };
        p.v4l2 = [this]() -> Result<FoundCamera> {
            ++v4l2_calls;
            if (!v4l2_works)
                return fail("no /dev/video* device");
            return FoundCamera{CameraStack::V4l2, "/dev/video0", {}};
        };
        return p;
    }
};

void test_choose_test_probes_nothing() {
    FakeProbes f;
    f.libcamera_works = f.v4l2_works = true;
    auto c = choose_camera(VideoSource::Test, "", f.probes());
    g_assert_true(c.ok());
    g_assert_false(c->camera);
    g_assert_cmpint(f.libcamera_calls + f.v4l2_calls, ==, 0);
}

void test_choose_auto_prefers_libcamera() {
    FakeProbes f;
    f.libcamera_works = f.v4l2_works = true;
    auto c = choose_camera(VideoSource::Auto, "", f.probes());
    g_assert_true(c.ok());
    g_assert_true(c->camera);
    g_assert_true(c->found.stack == CameraStack::Libcamera);
    check_str_eq(c->found.device, "imx708");
    g_assert_cmpint(f.v4l2_calls, ==, 0); // v4l2 is not even opened
    g_assert_cmpuint(c->skipped.size(), ==, 0);
}

void test_choose_auto_falls_back_to_v4l2() {
    FakeProbes f;
    f.v4l2_works = true;
    auto c = choose_camera(VideoSource::Auto, "", f.probes());
    g_assert_true(c.ok());
    g_assert_true(c->found.stack == CameraStack::V4l2);
    check_str_eq(c->found.device, "/dev/video0");
    g_assert_cmpuint(c->skipped.size(), ==, 1);
    check_str_eq(c->skipped[0], "libcamera: Could not find any supported camera on this system.");
}

void test_choose_auto_without_plugin() {
    FakeProbes f;
    f.plugin = false;
    f.libcamera_works = f.v4l2_works = true; // would work, but there is no element to run
    auto c = choose_camera(VideoSource::Auto, "", f.probes());
    g_assert_true(c.ok());
    g_assert_true(c->found.stack == CameraStack::V4l2);
    g_assert_cmpint(f.libcamera_calls, ==, 0);
    g_assert_cmpuint(c->skipped.size(), ==, 1);
    g_assert_true(contains(c->skipped[0], "gstreamer1.0-libcamera"));
}

void test_choose_auto_nothing_found() {
    FakeProbes f;
    auto c = choose_camera(VideoSource::Auto, "", f.probes());
    g_assert_true(c.ok()); // auto never fails: the test picture
    g_assert_false(c->camera);
    g_assert_cmpuint(c->skipped.size(), ==, 2);
    g_assert_true(g_str_has_prefix(c->skipped[0].c_str(), "libcamera: "));
    check_str_eq(c->skipped[1], "v4l2: no /dev/video* device");
}

void test_choose_auto_v4l2_node_given() {
    FakeProbes f;
    f.libcamera_works = f.v4l2_works = true;
    auto c = choose_camera(VideoSource::Auto, "/dev/video2", f.probes());
    g_assert_true(c.ok());
    g_assert_true(c->found.stack == CameraStack::V4l2);
    g_assert_cmpint(f.libcamera_calls, ==, 0);
    g_assert_true(contains(c->skipped[0], "/dev/video2 is a v4l2 node"));
}

void test_choose_camera_is_v4l2_only() {
    FakeProbes f;
    f.libcamera_works = true;
    auto c = choose_camera(VideoSource::Camera, "", f.probes());
    g_assert_false(c.ok());
    check_str_eq(c.message(), "camera not usable: no /dev/video* device");
    g_assert_cmpint(f.libcamera_calls, ==, 0);
    f.v4l2_works = true;
    auto ok = choose_camera(VideoSource::Camera, "", f.probes());
    g_assert_true(ok.ok());
    g_assert_true(ok->found.stack == CameraStack::V4l2);
}

void test_choose_libcamera_explicit() {
    FakeProbes f;
    f.v4l2_works = true; // never a substitute for an explicit libcamera
    auto none = choose_camera(VideoSource::Libcamera, "", f.probes());
    g_assert_false(none.ok());
    check_str_eq(none.message(),
                 "libcamera camera not usable: Could not find any supported camera on this "
                 "system.");
    f.plugin = false;
    auto no_plugin = choose_camera(VideoSource::Libcamera, "", f.probes());
    g_assert_false(no_plugin.ok());
    g_assert_true(contains(no_plugin.message(), "libcamerasrc is not installed "
                                                "(gstreamer1.0-libcamera)"));
    g_assert_cmpint(f.libcamera_calls, ==, 1); // not run without the plugin
    g_assert_cmpint(f.v4l2_calls, ==, 0);
    f.plugin = f.libcamera_works = true;
    auto ok = choose_camera(VideoSource::Libcamera, "", f.probes());
    g_assert_true(ok.ok());
    g_assert_true(ok->found.stack == CameraStack::Libcamera);
}

// ---- a camera that delivers H.264 ----

bool h264_in(const char *caps_text) {
    auto caps = Ref<GstCaps>::adopt(gst_caps_from_string(caps_text));
    g_assert_nonnull(caps.get());
    return offers_h264(caps.get());
}

void test_h264_caps() {
    // A UVC camera with raw, MJPEG and H.264 (as a Logitech C920 lists them).
    const char *uvc = "video/x-raw,format=YUY2,width=640,height=480,framerate=30/1; "
                      "image/jpeg,width=1920,height=1080,framerate=30/1; "
                      "video/x-h264,stream-format=byte-stream,alignment=au,"
                      "profile=constrained-baseline,width=1920,height=1080,framerate=30/1; "
                      "video/x-h264,stream-format=byte-stream,alignment=au,width=640,"
                      "height=480,framerate=30/1";
    g_assert_true(h264_in(uvc));
    auto caps = Ref<GstCaps>::adopt(gst_caps_from_string(uvc));
    auto h264 = h264_caps_of(caps.get());
    g_assert_cmpuint(gst_caps_get_size(h264.get()), ==, 2);
    const GstStructure *first = gst_caps_get_structure(h264.get(), 0);
    check_str_eq(gst_structure_get_string(first, "profile"), "constrained-baseline");
    g_assert_true(gst_structure_has_name(gst_caps_get_structure(h264.get(), 1), "video/x-h264"));
    // Raw and MJPEG only, other codecs, and caps that say nothing: no.
    g_assert_false(h264_in("video/x-raw,format=YUY2,width=640,height=480; image/jpeg"));
    g_assert_false(h264_in("video/x-h265,stream-format=byte-stream; video/x-vp8"));
    g_assert_false(h264_in("ANY"));
    g_assert_false(h264_in("EMPTY"));
    g_assert_false(offers_h264(nullptr));
    // H.264 alone (a Raspberry Pi's encoder exposed as a camera).
    g_assert_true(h264_in("video/x-h264,stream-format=byte-stream,alignment=au"));
}

// ---- the probes on this machine ----

void test_v4l2_probe_missing_node() {
    // Never hangs: a missing node is refused at once.
    auto cam = probe_camera("/dev/video-does-not-exist", 500);
    g_assert_false(cam.ok());
    g_assert_true(contains(cam.message(), "does not exist"));
}

// Without a libcamera camera, an explicit `libcamera` is an error that says why; with
// one, the probe finds it (a real camera is needed for that half: skipped here otherwise).
void test_libcamera_probe() {
    auto cam = probe_libcamera("", 2000);
    if (!have_libcamera_plugin()) {
        g_assert_false(cam.ok());
        check_str_eq(cam.message(), "libcamerasrc is not installed (gstreamer1.0-libcamera)");
        g_test_skip("libcamerasrc is not installed (gstreamer1.0-libcamera): no libcamera "
                    "camera can be probed");
        return;
    }
    if (!cam.ok()) {
        g_assert_true(cam.message().size() > 0);
        g_test_skip(("no libcamera camera on this machine (" + cam.message() +
                     "); a Raspberry Pi camera module or another libcamera camera is needed")
                        .c_str());
        return;
    }
    g_assert_true(cam->stack == CameraStack::Libcamera);
}

void test_resolve_explicit_libcamera() {
    MediaOptions o;
    o.video_source = VideoSource::Libcamera;
    o.audio_source = AudioSource::Test;
    o.sink = SinkMode::None;
    auto media = resolve_media(o);
    if (media.ok()) {
        g_assert_true(media->camera);
        g_assert_true(media->camera_stack == CameraStack::Libcamera);
        g_test_skip("a libcamera camera is attached: the no-camera error cannot be shown here");
        return;
    }
    g_assert_true(g_str_has_prefix(media.message().c_str(), "libcamera camera not usable: "));
}

// A real v4l2 camera reports whether it delivers H.264 (skipped without one).
void test_v4l2_probe_reports_h264() {
    auto cam = probe_camera("", 2000);
    if (!cam.ok()) {
        g_test_skip(("no v4l2 camera on this machine (" + cam.message() + ")").c_str());
        return;
    }
    g_test_message("%s: H.264 %s", cam->device.c_str(),
                   cam->h264_caps.empty() ? "not offered" : cam->h264_caps.c_str());
    if (!cam->h264_caps.empty()) {
        auto caps = Ref<GstCaps>::adopt(gst_caps_from_string(cam->h264_caps.c_str()));
        g_assert_true(offers_h264(caps.get()));
    }
}

} // namespace

int main(int argc, char **argv) {
    g_test_init(&argc, &argv, nullptr);
    g_setenv("LIBCAMERA_LOG_LEVELS", "*:ERROR", FALSE);
    gst_init(nullptr, nullptr);
    g_test_add_func("/camera/launch/libcamera", test_libcamera_description);
    g_test_add_func("/camera/launch/v4l2", test_v4l2_description_unchanged);
    g_test_add_func("/camera/choose/test", test_choose_test_probes_nothing);
    g_test_add_func("/camera/choose/auto-prefers-libcamera", test_choose_auto_prefers_libcamera);
    g_test_add_func("/camera/choose/auto-falls-back-to-v4l2", test_choose_auto_falls_back_to_v4l2);
    g_test_add_func("/camera/choose/auto-without-plugin", test_choose_auto_without_plugin);
    g_test_add_func("/camera/choose/auto-nothing-found", test_choose_auto_nothing_found);
    g_test_add_func("/camera/choose/auto-v4l2-node-given", test_choose_auto_v4l2_node_given);
    g_test_add_func("/camera/choose/camera-is-v4l2", test_choose_camera_is_v4l2_only);
    g_test_add_func("/camera/choose/libcamera-explicit", test_choose_libcamera_explicit);
    g_test_add_func("/camera/h264-caps", test_h264_caps);
    g_test_add_func("/camera/probe/v4l2-missing-node", test_v4l2_probe_missing_node);
    g_test_add_func("/camera/probe/libcamera", test_libcamera_probe);
    g_test_add_func("/camera/probe/v4l2-h264", test_v4l2_probe_reports_h264);
    g_test_add_func("/camera/resolve/explicit-libcamera", test_resolve_explicit_libcamera);
    return g_test_run();
}
