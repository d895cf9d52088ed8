// SPDX-License-Identifier: MIT
// Device probing with bounded waits, and the fallback decisions for `auto` sources.
#include "pipelines/devices.h"

#include "common/gst_ref.h"
#include "pipelines/debug.h"

#include <glib/gstdio.h>

#include "pipelines/x11_screen.h"
#include <algorithm>

#define GST_CAT_DEFAULT duet_debug

namespace duet::pipelines {
namespace {

bool element_exists(const char *name) {
    GstElementFactory *f = gst_element_factory_find(name);
    if (f)
        gst_object_unref(f);
    return f != nullptr;
}

// Runs a tiny pipeline to its first buffer (fakesink num-buffers=1 posts EOS) or an error,
// waiting at most timeout_ms. Never blocks longer: a wedged device counts as broken.
ProbeOutcome run_probe(const std::string &description, unsigned timeout_ms,
                       const char *camera_device = nullptr) {
    ProbeOutcome out;
    GErr err;
    GstElement *raw = gst_parse_launch(description.c_str(), err.out());
    if (!raw) {
        out.why = std::string("cannot build probe: ") + err.message();
        return out;
    }
    auto pipeline = Ref<GstElement>::ref(raw);
    if (camera_device) {
        auto cam = Ref<GstElement>::adopt(gst_bin_get_by_name(GST_BIN(raw), "camera"));
        g_object_set(cam.get(), "device", camera_device, nullptr);
    }
    auto bus = Ref<GstBus>::adopt(gst_element_get_bus(pipeline.get()));
    if (gst_element_set_state(pipeline.get(), GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
        // The error message, if any, says why better than the state change does.
        auto m = Ref<GstMessage>::adopt(gst_bus_pop_filtered(bus.get(), GST_MESSAGE_ERROR));
        out.why = "device did not start";
        if (m) {
            GError *e = nullptr;
            gst_message_parse_error(m.get(), &e, nullptr);
            out.why = e->message;
            g_error_free(e);
        }
        gst_element_set_state(pipeline.get(), GST_STATE_NULL);
        return out;
    }
    auto m = Ref<GstMessage>::adopt(
        gst_bus_timed_pop_filtered(bus.get(), GstClockTime(timeout_ms) * GST_MSECOND,
                                   GstMessageType(GST_MESSAGE_EOS | GST_MESSAGE_ERROR)));
    if (!m) {
        out.why = "no data within " + std::to_string(timeout_ms) + " ms";
    } else if (GST_MESSAGE_TYPE(m.get()) == GST_MESSAGE_ERROR) {
        GError *e = nullptr;
        gst_message_parse_error(m.get(), &e, nullptr);
        out.why = e->message;
        g_error_free(e);
    } else {
        out.ok = true;
    }
    gst_element_set_state(pipeline.get(), GST_STATE_NULL);
    return out;
}

} // namespace

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

ProbeOutcome probe_camera(const std::string &device, unsigned timeout_ms) {
    ProbeOutcome out;
    if (!element_exists("v4l2src")) {
        out.why = "v4l2src is not installed (gstreamer1.0-plugins-good)";
        return out;
    }
    std::vector<std::string> nodes;
    if (!device.empty()) {
        if (!g_file_test(device.c_str(), G_FILE_TEST_EXISTS)) {
            out.why = device + " does not exist";
            return out;
        }
        nodes.push_back(device);
    } else {
        nodes = video_device_nodes();
        if (nodes.empty()) {
            out.why = "no /dev/video* device";
            return out;
        }
    }
    std::string reasons;
    for (const auto &node : nodes) {
        ProbeOutcome o = run_probe("v4l2src name=camera num-buffers=1 ! fakesink sync=false",
                                   timeout_ms, node.c_str());
        if (o.ok) {
            o.device = node;
            return o;
        }
        GST_INFO("camera %s unusable: %s", node.c_str(), o.why.c_str());
        reasons += (reasons.empty() ? "" : "; ") + node + ": " + o.why;
    }
    out.why = reasons;
    return out;
}

ProbeOutcome probe_mic(unsigned timeout_ms) {
    if (!element_exists("autoaudiosrc"))
        return ProbeOutcome{false, {}, "autoaudiosrc is not installed (gstreamer1.0-plugins-good)"};
    return run_probe("autoaudiosrc ! fakesink sync=false num-buffers=1", timeout_ms);
}

SinkMode resolve_sink(SinkMode requested, bool have_x11, bool have_wayland) {
    if (requested != SinkMode::Auto)
        return requested;
    return (have_x11 || have_wayland) ? SinkMode::Window : SinkMode::None;
}

Result<ResolvedMedia> resolve_media(const MediaOptions &o) {
    ResolvedMedia resolved;
    ResolvedMedia *out = &resolved;
    if (o.video_source != VideoSource::Test) {
        ProbeOutcome cam = probe_camera(o.video_device);
        if (cam.ok) {
            out->camera = true;
            out->video_device = cam.device;
            g_info("video: camera %s", cam.device.c_str());
        } else if (o.video_source == VideoSource::Camera) {
            return fail("camera not usable: " + cam.why);
        } else {
            g_message("video: no usable camera (%s); sending the test picture instead",
                      cam.why.c_str());
        }
    }
    if (o.audio_source != AudioSource::Test) {
        ProbeOutcome mic = probe_mic();
        if (mic.ok) {
            out->mic = true;
            g_info("audio: microphone via autoaudiosrc");
        } else if (o.audio_source == AudioSource::Mic) {
            return fail("microphone not usable: " + mic.why);
        } else {
            g_message("audio: no usable microphone (%s); sending test ticks instead",
                      mic.why.c_str());
        }
    }
    const char *x11 = g_getenv("DISPLAY");
    const char *wl = g_getenv("WAYLAND_DISPLAY");
    bool have_x11 = x11 && *x11, have_wl = wl && *wl;
    out->sink = resolve_sink(o.sink, have_x11, have_wl);
    if (out->sink == SinkMode::Window) {
        out->wayland = have_wl && element_exists("waylandsink");
        if (!out->wayland && !x11_screen_size(&out->screen_width, &out->screen_height))
            g_message("window: cannot read the X screen size; the picture keeps its own size");
        if (o.sink == SinkMode::Auto && !element_exists("autovideosink")) {
            g_message("window: autovideosink is not installed (gstreamer1.0-plugins-good); "
                      "decoding without showing");
            out->sink = SinkMode::None;
        }
    }
    g_info("sink: %s%s", sink_mode_name(out->sink), out->wayland ? " (wayland, fullscreen)" : "");
    return resolved;
}

} // namespace duet::pipelines
