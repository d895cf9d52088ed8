// SPDX-License-Identifier: MIT
// The Debian 12 packages that ship the GStreamer elements duet uses, named once for the
// codec table (codecs.cpp) and the plugin check (plugins.cpp).
#pragma once

namespace duet::pipelines::packages {

inline constexpr const char *kCore = "libgstreamer1.0-0";
inline constexpr const char *kBase = "gstreamer1.0-plugins-base";
inline constexpr const char *kGood = "gstreamer1.0-plugins-good";
inline constexpr const char *kBad = "gstreamer1.0-plugins-bad";
inline constexpr const char *kUgly = "gstreamer1.0-plugins-ugly";
inline constexpr const char *kLibav = "gstreamer1.0-libav";
inline constexpr const char *kVaapi = "gstreamer1.0-vaapi";
inline constexpr const char *kNice = "gstreamer1.0-nice";
inline constexpr const char *kX = "gstreamer1.0-x";
inline constexpr const char *kLibcameraPackage = "gstreamer1.0-libcamera";

} // namespace duet::pipelines::packages
