// SPDX-License-Identifier: MIT
// Device probing with bounded waits, and the fallback decisions for `auto` sources.
#include "pipelines/devices.h"

#include "pipelines/codecs.h"
#include "pipelines/debug.h"
#include "pipelines/packages.h"
#include "pipelines/x11_screen.h"

#include <glib/gstdio.h>
#include <unistd.h>

#include <algorithm>

#define GST_CAT_DEFAULT duet_debug

namespace duet::pipelines {
namespace {

constexpr const char *kLibcameraElement = "libcamerasrc";

bool element_exists(const char *name) {
    auto f = Ref<GstElementFactory>::adopt(gst_element_factory_find(name));
    return bool(f);
}

// The text of an error message on the bus, said plainly where GStreamer's is not.
std::string error_text(GstMessage *m) {
    GErr e;
    gst_message_parse_error(m, e.out(), nullptr);
    if (g_error_matches(e.get(), GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_BUSY))
        return std::string("busy: another program is using it (") + e.message() + ")";
    return e.message();
}

// The caps the element named "camera" offers (all the formats of the device, once open).
Ref<GstCaps> camera_caps(GstElement *pipeline) {
    auto cam = Ref<GstElement>::adopt(gst_bin_get_by_name(GST_BIN(pipeline), "camera"));
    if (!cam)
        return {};
    auto pad = Ref<GstPad>::adopt(gst_element_get_static_pad(cam.get(), "src"));
    return pad ? Ref<GstCaps>::adopt(gst_pad_query_caps(pad.get(), nullptr)) : Ref<GstCaps>();
}

// Runs a tiny pipeline to its first buffer (fakesink num-buffers=1 posts EOS) or an error,
// waiting at most timeout_ms. Never blocks longer: a wedged device counts as broken.
// With `property`, the element named "camera" gets `device` in it before it starts.
// Returns the camera's caps, read while it still runs (empty without a "camera").
Result<Ref<GstCaps>> run_probe(const std::string &description, unsigned timeout_ms,
                               const char *property = nullptr, const std::string &device = {}) {
    GErr err;
    auto pipeline = Ref<GstElement>::adopt(gst_parse_launch(description.c_str(), err.out()));
    if (!pipeline)
        return fail(std::string("cannot build probe: ") + err.message());
    if (property && !device.empty()) {
        auto cam = Ref<GstElement>::adopt(gst_bin_get_by_name(GST_BIN(pipeline.get()), "camera"));
        g_object_set(cam.get(), property, device.c_str(), nullptr);
    }
    auto bus = Ref<GstBus>::adopt(gst_element_get_bus(pipeline.get()));
    if (gst_element_set_state(pipeline.get(), GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
        // The error message, if any, says why better than the state change does.
        auto m = Ref<GstMessage>::adopt(gst_bus_pop_filtered(bus.get(), GST_MESSAGE_ERROR));
        gst_element_set_state(pipeline.get(), GST_STATE_NULL);
        return fail(m ? error_text(m.get()) : "device did not start");
    }
    auto m = Ref<GstMessage>::adopt(
        gst_bus_timed_pop_filtered(bus.get(), GstClockTime(timeout_ms) * GST_MSECOND,
                                   GstMessageType(GST_MESSAGE_EOS | GST_MESSAGE_ERROR)));
    Result<Ref<GstCaps>> out = camera_caps(pipeline.get());
    if (!m)
        out = fail("no data within " + std::to_string(timeout_ms) + " ms");
    else if (GST_MESSAGE_TYPE(m.get()) == GST_MESSAGE_ERROR)
        out = fail(error_text(m.get()));
    gst_element_set_state(pipeline.get(), GST_STATE_NULL);
    return out;
}

bool names_v4l2_node(const std::string &device) {
    return g_str_has_prefix(device.c_str(), "/dev/");
}

// Runs one stack's probe: true and the camera kept in `choice` if it works, else false
// and why, prefixed with the stack, added to choice.skipped.
bool try_stack(const char *stack, const std::function<Result<FoundCamera>()> &probe,
               CameraChoice &choice, std::string *why = nullptr) {
    auto found = probe();
    if (found) {
        choice.camera = true;
        choice.found = std::move(found).value();
        return true;
    }
    if (why)
        *why = found.message();
    choice.skipped.push_back(std::string(stack) + ": " + found.message());
    return false;
}

} // namespace

const char *camera_stack_name(CameraStack s) {
    return s == CameraStack::Libcamera ? "libcamera" : "v4l2";
}

const char *camera_device_property(CameraStack s) {
    return s == CameraStack::Libcamera ? "camera-name" : "device";
}

bool have_libcamera_plugin() {
    return element_exists(kLibcameraElement);
}

std::vector<std::string> video_device_nodes() {
    std::vector<std::string> out;
    GDir *dir = g_dir_open("/dev", 0, nullptr);
    if (!dir)
        return out;
    while (const char *name = g_dir_read_name(dir))
        if (g_str_has_prefix(name, "video"))
            out.push_back(std::string("/dev/") + name);
    g_dir_close(dir);
    // /dev/video10 after /dev/video9: compare the numbers, not the strings.
    std::sort(out.begin(), out.end(), [](const std::string &a, const std::string &b) {
        return a.size() != b.size() ? a.size() < b.size() : a < b;
    });
    return out;
}

Ref<GstCaps> h264_caps_of(const GstCaps *caps) {
    auto out = Ref<GstCaps>::adopt(gst_caps_new_empty());
    if (!caps || gst_caps_is_any(caps))
        return out; // ANY says nothing about what the device really sends
    for (guint i = 0; i < gst_caps_get_size(caps); ++i) {
        const GstStructure *s = gst_caps_get_structure(caps, i);
        if (gst_structure_has_name(s, "video/x-h264"))
            gst_caps_append_structure(out.get(), gst_structure_copy(s));
    }
    return out;
}

bool offers_h264(const GstCaps *caps) {
    return !gst_caps_is_empty(h264_caps_of(caps).get());
}

Result<FoundCamera> probe_camera(const std::string &device, unsigned timeout_ms) {
    if (!element_exists("v4l2src"))
        return fail("v4l2src is not installed (gstreamer1.0-plugins-good)");
    std::vector<std::string> nodes;
    if (!device.empty()) {
        if (!g_file_test(device.c_str(), G_FILE_TEST_EXISTS))
            return fail(device + " does not exist");
        nodes.push_back(device);
    } else {
        nodes = video_device_nodes();
        if (nodes.empty())
            return fail("no /dev/video* device");
    }
    std::string reasons;
    for (const auto &node : nodes) {
        auto caps = run_probe("v4l2src name=camera num-buffers=1 ! fakesink sync=false", timeout_ms,
                              "device", node);
        if (caps) {
            FoundCamera found{CameraStack::V4l2, node, {}};
            auto h264 = h264_caps_of(caps->get());
            if (!gst_caps_is_empty(h264.get()))
                found.h264_caps = Owned<gchar>(gst_caps_to_string(h264.get())).get();
            return found;
        }
        GST_INFO("camera %s unusable: %s", node.c_str(), caps.message().c_str());
        reasons += (reasons.empty() ? "" : "; ") + node + ": " + caps.message();
    }
    return fail(reasons);
}

Result<FoundCamera> probe_libcamera(const std::string &name, unsigned timeout_ms) {
    if (!element_exists(kLibcameraElement))
        return fail(std::string(kLibcameraElement) + " is not installed (" + packages::kLibcameraPackage +
                    ")");
    // libcamerasrc has no num-buffers: fakesink ends the probe after the first frame.
    auto caps = run_probe(std::string(kLibcameraElement) +
                              " name=camera ! fakesink sync=false num-buffers=1",
                          timeout_ms, "camera-name", name);
    if (!caps)
        return caps.error();
    return FoundCamera{CameraStack::Libcamera, name, {}};
}

std::string microphone_absent_reason(const std::string &snd_dir, bool sound_server) {
    if (sound_server)
        return {};
    GErr err;
    GDir *dir = g_dir_open(snd_dir.c_str(), 0, err.out());
    if (!dir) {
        if (g_error_matches(err.get(), G_FILE_ERROR, G_FILE_ERROR_ACCES))
            return "permission denied on " + snd_dir;
        return "no sound card found";
    }
    // ALSA's PCM nodes are pcmC<card>D<device>c (capture) and ...p (playback).
    bool any_pcm = false;
    std::vector<std::string> capture;
    while (const char *name = g_dir_read_name(dir)) {
        if (!g_str_has_prefix(name, "pcmC"))
            continue;
        any_pcm = true;
        if (g_str_has_suffix(name, "c"))
            capture.push_back(snd_dir + "/" + name);
    }
    g_dir_close(dir);
    if (!any_pcm)
        return "no sound card found";
    if (capture.empty())
        return "no microphone found (the sound cards have no capture device)";
    std::sort(capture.begin(), capture.end());
    for (const std::string &node : capture)
        if (access(node.c_str(), R_OK | W_OK) == 0)
            return {};
    return "permission denied on " + capture.front() + " (add the user to the group audio)";
}

bool sound_server_reachable() {
    if (const char *server = g_getenv("PULSE_SERVER"); server && *server)
        return true;
    const char *runtime = g_get_user_runtime_dir();
    for (const char *socket : {"pulse/native", "pipewire-0"}) {
        Owned<gchar> path(g_build_filename(runtime, socket, nullptr));
        if (g_file_test(path.get(), G_FILE_TEST_EXISTS))
            return true;
    }
    return false;
}

Result<void> probe_mic(unsigned timeout_ms) {
    if (!element_exists("autoaudiosrc"))
        return fail("autoaudiosrc is not installed (gstreamer1.0-plugins-good)");
    auto ran = run_probe("autoaudiosrc ! fakesink sync=false num-buffers=1", timeout_ms);
    if (!ran)
        return ran.error();
    return {};
}

Result<CameraChoice> choose_camera(VideoSource requested, const std::string &device_given,
                                   const CameraProbes &probes) {
    CameraChoice choice;
    const std::string no_plugin =
        std::string(kLibcameraElement) + " is not installed (" + packages::kLibcameraPackage + ")";
    std::string why;
    switch (requested) {
    case VideoSource::Test:
        return choice;
    case VideoSource::Camera:
        if (try_stack("v4l2", probes.v4l2, choice, &why))
            return choice;
        return fail("camera not usable: " + why);
    case VideoSource::Libcamera:
        if (!probes.libcamera_plugin)
            return fail("libcamera camera not usable: " + no_plugin);
        if (try_stack("libcamera", probes.libcamera, choice, &why))
            return choice;
        return fail("libcamera camera not usable: " + why);
    case VideoSource::Auto:
        break;
    }
    if (!probes.libcamera_plugin)
        choice.skipped.push_back("libcamera: " + no_plugin);
    else if (names_v4l2_node(device_given))
        choice.skipped.push_back("libcamera: --video-device " + device_given + " is a v4l2 node");
    else if (try_stack("libcamera", probes.libcamera, choice))
        return choice;
    try_stack("v4l2", probes.v4l2, choice);
    return choice;
}

SinkMode resolve_sink(SinkMode requested, bool have_x11, bool have_wayland) {
    if (requested != SinkMode::Auto)
        return requested;
    return (have_x11 || have_wayland) ? SinkMode::Window : SinkMode::None;
}

namespace {

Result<void> resolve_video(const MediaOptions &o, ResolvedMedia &out) {
    CameraProbes probes;
    probes.libcamera_plugin = have_libcamera_plugin();
    probes.libcamera = [&o] { return probe_libcamera(o.video_device); };
    probes.v4l2 = [&o] { return probe_camera(o.video_device); };
    auto choice = choose_camera(o.video_source, o.video_device, probes);
    if (!choice)
        return choice.error();
    std::string skipped;
    for (const auto &why : choice->skipped)
        skipped += (skipped.empty() ? "" : "; ") + why;
    if (!choice->camera) {
        if (o.video_source != VideoSource::Test)
            g_message("video: no usable camera (%s); sending the test picture instead",
                      skipped.c_str());
        return {};
    }
    if (!skipped.empty())
        g_info("video: not using %s", skipped.c_str());
    const FoundCamera &cam = choice->found;
    out.camera = true;
    out.camera_stack = cam.stack;
    out.video_device = cam.device;
    out.camera_h264 = !cam.h264_caps.empty();
    out.camera_h264_caps = cam.h264_caps;
    g_info("video: %s camera %s", camera_stack_name(cam.stack),
           cam.device.empty() ? "(the first)" : cam.device.c_str());
    if (out.camera_h264)
        g_info("video: the camera also delivers H.264: %s", cam.h264_caps.c_str());
    return {};
}

// One playback chain for all remote audio when something hears it (a window sink's speaker,
// or the simulated room); webrtcdsp on the microphone when asked, or by default when a
// microphone and that speaker are both in use (the case where the far end hears itself).
Result<void> resolve_audio_processing(const MediaOptions &o, ResolvedMedia &out) {
    out.speaker = out.sink == SinkMode::Window || out.room_sim;
    bool talking_room = (out.mic || out.room_sim) && out.speaker;
    bool want = o.audio_processing == AudioProcessing::On ||
                (o.audio_processing == AudioProcessing::Auto && talking_room);
    if (!want) {
        g_info("audio processing: off");
        return {};
    }
    const PackagedElement dsp{"webrtcdsp", packages::kBad};
    if (!element_exists(dsp.element)) {
        if (o.audio_processing == AudioProcessing::On)
            return fail(std::string("--audio-processing on needs ") + dsp.element + " (" +
                        dsp.package + ")");
        g_message("audio processing: %s is not installed (%s); sending the microphone as is",
                  dsp.element, dsp.package);
        return {};
    }
    out.audio_processing = true;
    g_info("audio processing: on (%s)", out.speaker ? "echo cancellation, noise suppression, "
                                                       "gain control"
                                                     : "no speaker: noise suppression and gain "
                                                       "control only");
    return {};
}

} // namespace

Result<ResolvedMedia> resolve_media(const MediaOptions &o) {
    ResolvedMedia out;
    if (auto video = resolve_video(o, out); !video)
        return video.error();
    if (!o.room_spec.empty()) {
        out.room_sim = true; // the simulated room is the microphone and the speaker
        g_message("audio: a simulated room (--simulate-room) instead of microphone and speaker");
    } else if (o.audio_source != AudioSource::Test) {
        // Look before opening: on a machine without sound, opening one prints ALSA's and
        // OpenAL's errors and gets no better reason than "Internal data stream error.".
        std::string absent = microphone_absent_reason("/dev/snd", sound_server_reachable());
        Result<void> mic = absent.empty() ? probe_mic() : Result<void>(fail(absent));
        if (mic) {
            out.mic = true;
            g_info("audio: microphone via autoaudiosrc");
        } else if (o.audio_source == AudioSource::Mic) {
            return fail("microphone not usable: " + mic.message());
        } else {
            g_message("audio: no usable microphone (%s); sending test ticks instead",
                      mic.message().c_str());
        }
    }
    const char *x11 = g_getenv("DISPLAY");
    const char *wl = g_getenv("WAYLAND_DISPLAY");
    bool have_x11 = x11 && *x11, have_wl = wl && *wl;
    out.sink = resolve_sink(o.sink, have_x11, have_wl);
    if (out.sink == SinkMode::Window) {
        out.wayland = have_wl && element_exists("waylandsink");
        if (!out.wayland && !x11_screen_size(&out.screen_width, &out.screen_height))
            g_message("window: cannot read the X screen size; the picture keeps its own size");
        if (o.sink == SinkMode::Auto && !element_exists("autovideosink")) {
            g_message("window: autovideosink is not installed (gstreamer1.0-plugins-good); "
                      "decoding without showing");
            out.sink = SinkMode::None;
        }
    }
    g_info("sink: %s%s", sink_mode_name(out.sink), out.wayland ? " (wayland, fullscreen)" : "");
    if (auto ap = resolve_audio_processing(o, out); !ap)
        return ap.error();
    return out;
}

} // namespace duet::pipelines
