// SPDX-License-Identifier: MIT
// Lists the elements each part of a call uses and finds the ones not installed.
#include "pipelines/plugins.h"

#include <gst/gst.h>

#include <algorithm>

namespace duet::pipelines {
namespace {

constexpr const char *kCore = "libgstreamer1.0-0";
constexpr const char *kBase = "gstreamer1.0-plugins-base";
constexpr const char *kGood = "gstreamer1.0-plugins-good";
constexpr const char *kBad = "gstreamer1.0-plugins-bad";
constexpr const char *kNice = "gstreamer1.0-nice";
constexpr const char *kX = "gstreamer1.0-x";

const RequiredElement kCall[] = {
    {"webrtcbin", kBad},     {"nicesrc", kNice},       {"nicesink", kNice},
    {"dtlssrtpenc", kBad},   {"dtlssrtpdec", kBad},    {"srtpenc", kBad},
    {"srtpdec", kBad},       {"rtpbin", kGood},        {"vp8enc", kGood},
    {"vp8dec", kGood},       {"rtpvp8pay", kGood},     {"rtpvp8depay", kGood},
    {"opusenc", kBase},      {"opusdec", kBase},       {"rtpopuspay", kGood},
    {"rtpopusdepay", kGood}, {"videoconvert", kBase},  {"videoscale", kBase},
    {"audioconvert", kBase}, {"audioresample", kBase}, {"queue", kCore},
    {"tee", kCore},          {"fakesink", kCore},
};
const RequiredElement kTestVideo[] = {
    {"videotestsrc", kBase}, {"textoverlay", kX}, {"timeoverlay", kX}};
const RequiredElement kTestAudio[] = {{"audiotestsrc", kBase}};
const RequiredElement kCamera[] = {{"v4l2src", kGood}, {"decodebin", kBase}, {"videorate", kBase}};
const RequiredElement kLibcamera[] = {{"libcamerasrc", "gstreamer1.0-libcamera"},
                                      {"videorate", kBase}};
const RequiredElement kMic[] = {{"autoaudiosrc", kGood}};
const RequiredElement kWindow[] = {{"autovideosink", kGood}, {"autoaudiosink", kGood}};
const RequiredElement kRecord[] = {{"webmmux", kGood}, {"filesink", kCore}};

template <std::size_t N>
void add(std::vector<RequiredElement> &out, const RequiredElement (&a)[N]) {
    out.insert(out.end(), a, a + N);
}

bool registry_has(const char *name) {
    GstElementFactory *f = gst_element_factory_find(name);
    if (!f)
        return false;
    gst_object_unref(f);
    return true;
}

} // namespace

std::vector<RequiredElement> required_elements(const MediaOptions &o) {
    std::vector<RequiredElement> out;
    add(out, kCall);
    if (o.video_source == VideoSource::Camera)
        add(out, kCamera);
    else if (o.video_source == VideoSource::Libcamera)
        add(out, kLibcamera);
    else
        add(out, kTestVideo);
    if (o.audio_source == AudioSource::Mic)
        add(out, kMic);
    else
        add(out, kTestAudio);
    // `auto` sinks need the window elements only when a display turns up; checked then.
    if (o.sink == SinkMode::Window)
        add(out, kWindow);
    if (!o.record_path.empty())
        add(out, kRecord);
    return out;
}

std::vector<RequiredElement> missing_elements(const std::vector<RequiredElement> &needed,
                                              const std::function<bool(const char *)> &exists) {
    std::vector<RequiredElement> out;
    for (const auto &r : needed)
        if (!(exists ? exists(r.element) : registry_has(r.element)))
            out.push_back(r);
    return out;
}

std::string describe_missing(const std::vector<RequiredElement> &missing) {
    std::string out = "missing GStreamer elements:\n";
    std::vector<std::string> packages;
    for (const auto &r : missing) {
        out += std::string("  ") + r.element + " (in " + r.package + ")\n";
        if (std::find(packages.begin(), packages.end(), r.package) == packages.end())
            packages.emplace_back(r.package);
    }
    out += "install them with: apt-get install";
    for (const auto &p : packages)
        out += " " + p;
    return out;
}

} // namespace duet::pipelines
