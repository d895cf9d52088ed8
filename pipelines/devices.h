// SPDX-License-Identifier: MIT
// Probes the camera, microphone and display, and turns `auto` choices into real ones.
#pragma once

#include "common/result.h"
#include "pipelines/media_options.h"

#include <string>
#include <vector>

namespace duet::pipelines {

struct ProbeOutcome {
    bool ok = false;
    std::string device; // the camera node that worked
    std::string why;    // why not, for the log line
};

// Camera probes give a device this long to deliver one frame: USB cameras typically need
// 0.3-1 s to start streaming; a device that needs more is treated as broken, not waited on.
inline constexpr unsigned kCameraProbeTimeoutMs = 3000;
inline constexpr unsigned kMicProbeTimeoutMs = 2000;

// `device` empty: tries every /dev/video* in order (metadata nodes fail quickly).
ProbeOutcome probe_camera(const std::string &device, unsigned timeout_ms = kCameraProbeTimeoutMs);
ProbeOutcome probe_mic(unsigned timeout_ms = kMicProbeTimeoutMs);

// Video capture nodes present on this machine, sorted.
std::vector<std::string> video_device_nodes();

// Resolves Auto sources and sink, logging each fallback. Fails when a source the user
// asked for explicitly (camera, mic) does not work.
Result<ResolvedMedia> resolve_media(const MediaOptions &opts);

// Pure part of the sink decision: Auto means a window when a display is reachable.
SinkMode resolve_sink(SinkMode requested, bool have_x11, bool have_wayland);

} // namespace duet::pipelines
