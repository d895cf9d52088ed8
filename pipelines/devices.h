// SPDX-License-Identifier: MIT
// Probes the camera, microphone and display, and turns `auto` choices into real ones.
#pragma once

#include "common/gst_ref.h"
#include "common/result.h"
#include "pipelines/media_options.h"

#include <functional>
#include <string>
#include <vector>

namespace duet::pipelines {

// A camera that delivered a frame when probed.
struct FoundCamera {
    CameraStack stack = CameraStack::V4l2;
    std::string device;    // v4l2: the node; libcamera: the camera's name ("": the first)
    std::string h264_caps; // v4l2: its video/x-h264 caps as a string; "": it offers none
};

// Camera probes give a device this long to deliver one frame: USB cameras typically need
// 0.3-1 s to start streaming; a device that needs more is treated as broken, not waited on.
// A Raspberry Pi camera module through libcamera starts in about the same time.
inline constexpr unsigned kCameraProbeTimeoutMs = 3000;
inline constexpr unsigned kMicProbeTimeoutMs = 2000;

// v4l2. `device` empty: tries every /dev/video* in order (metadata nodes fail quickly).
Result<FoundCamera> probe_camera(const std::string &device,
                                 unsigned timeout_ms = kCameraProbeTimeoutMs);
// libcamera. `name` empty: libcamerasrc's first camera. Fails at once without libcamerasrc.
Result<FoundCamera> probe_libcamera(const std::string &name,
                                    unsigned timeout_ms = kCameraProbeTimeoutMs);
Result<void> probe_mic(unsigned timeout_ms = kMicProbeTimeoutMs);

// Why no microphone can be opened, judged from the device nodes in `snd_dir` (/dev/snd)
// instead of by opening one: on a machine without sound, opening makes ALSA and OpenAL
// print screens of errors, and GStreamer's reason is "Internal data stream error.".
// "no sound card found", "no microphone found (...)", "permission denied on ...", or ""
// when a capture device may work (the probe then decides). With `sound_server` (a
// PulseAudio or PipeWire socket), the server may have a microphone: always "".
std::string microphone_absent_reason(const std::string &snd_dir, bool sound_server);
// Whether a PulseAudio or PipeWire server is there to ask ($PULSE_SERVER, or its socket
// in $XDG_RUNTIME_DIR).
bool sound_server_reachable();

// Whether libcamerasrc (Debian: gstreamer1.0-libcamera) is installed.
bool have_libcamera_plugin();

// Video capture nodes present on this machine, sorted.
std::vector<std::string> video_device_nodes();

// The H.264 part of a device's caps (every video/x-h264 structure), empty caps when it has
// none. Pure: `caps` is what the camera's source pad reports in READY or later.
Ref<GstCaps> h264_caps_of(const GstCaps *caps);
bool offers_h264(const GstCaps *caps);

// The camera decision, apart from the devices so it can be tested without any: what is
// tried, in which order, and what a failure means.
struct CameraProbes {
    bool libcamera_plugin = false; // have_libcamera_plugin()
    // Each runs one probe when called (at most once); the device names come from the user.
    std::function<Result<FoundCamera>()> libcamera;
    std::function<Result<FoundCamera>()> v4l2;
};
struct CameraChoice {
    bool camera = false; // false: the test picture
    FoundCamera found;   // with camera
    // One line per stack not used and why, in the order tried, for the log.
    std::vector<std::string> skipped;
};
// Test: no probe runs. Camera: v4l2 only; Libcamera: libcamera only; each fails with the
// reason when it does not work. Auto: libcamera (when the plugin is installed and
// `device_given` does not name a v4l2 node), then v4l2, then the test picture.
Result<CameraChoice> choose_camera(VideoSource requested, const std::string &device_given,
                                   const CameraProbes &probes);

// Resolves Auto sources and sink, logging each fallback. Fails when a source the user
// asked for explicitly (camera, libcamera, mic) does not work.
Result<ResolvedMedia> resolve_media(const MediaOptions &opts);

// Pure part of the sink decision: Auto means a window when a display is reachable.
SinkMode resolve_sink(SinkMode requested, bool have_x11, bool have_wayland);

} // namespace duet::pipelines
