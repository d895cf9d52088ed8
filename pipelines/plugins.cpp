// SPDX-License-Identifier: MIT
// Lists the elements each part of a call uses and finds the ones not installed.
#include "pipelines/plugins.h"

#include "common/ref.h"
#include "pipelines/packages.h"

#include <gst/gst.h>

#include <algorithm>

namespace duet::pipelines {
namespace {

using namespace packages;

const RequiredElement kCall[] = {
    {"webrtcbin", kBad},      {"nicesrc", kNice},    {"nicesink", kNice},
    {"dtlssrtpenc", kBad},    {"dtlssrtpdec", kBad}, {"srtpenc", kBad},
    {"srtpdec", kBad},        {"rtpbin", kGood},     {"videoconvert", kBase},
    {"videoscale", kBase},    {"audioconvert", kBase}, {"audioresample", kBase},
    {"queue", kCore},         {"tee", kCore},        {"fakesink", kCore},
    {"capsfilter", kCore},    {"sctpenc", kBad},     {"sctpdec", kBad},
    {"appsrc", kBase},        {"appsink", kBase},
};
const RequiredElement kTestVideo[] = {
    {"videotestsrc", kBase}, {"textoverlay", kX}, {"timeoverlay", kX}};
const RequiredElement kTestAudio[] = {{"audiotestsrc", kBase}};
const RequiredElement kCamera[] = {{"v4l2src", kGood}, {"decodebin", kBase}, {"videorate", kBase}};
const RequiredElement kLibcamera[] = {{"libcamerasrc", kLibcameraPackage},
                                      {"videorate", kBase}};
const RequiredElement kMic[] = {{"autoaudiosrc", kGood}};
const RequiredElement kWindow[] = {{"autovideosink", kGood}, {"autoaudiosink", kGood},
                                   {"audiomixer", kBase}, {"audiotestsrc", kBase}};
const RequiredElement kRecord[] = {{"webmmux", kGood}, {"matroskamux", kGood}, {"filesink", kCore}};

RequiredElement one_of(const std::vector<PackagedElement> &list) {
    RequiredElement r{list.front().element, list.front().package};
    r.alternatives.assign(list.begin() + 1, list.end());
    return r;
}

// Everything a call in codec `c` needs: some encoder, the payloader, the depayloader, the
// parser and some decoder.
void add_codec(std::vector<RequiredElement> &out, const CodecSpec &c) {
    // Software encoders first: the package a message suggests should be one that works on
    // any machine.
    std::vector<PackagedElement> encoders;
    for (bool hardware : {false, true})
        for (const auto &e : c.encoders)
            if (e.hardware == hardware)
                encoders.push_back(e.element);
    out.push_back(one_of(encoders));
    for (const PackagedElement &e : {c.payloader, c.depayloader, c.parser})
        if (e.element)
            out.push_back(RequiredElement{e.element, e.package});
    out.push_back(one_of(c.decoders));
}

template <std::size_t N>
void add(std::vector<RequiredElement> &out, const RequiredElement (&a)[N]) {
    out.insert(out.end(), a, a + N);
}

bool registry_has(const char *name) {
    return bool(Ref<GstElementFactory>::adopt(gst_element_factory_find(name)));
}

} // namespace

std::vector<RequiredElement> required_elements(const MediaOptions &o) {
    std::vector<RequiredElement> out;
    add(out, kCall);
    add_codec(out, codec_spec(Codec::Opus));
    add_codec(out, codec_spec(o.video_codec == VideoCodecPref::H264 ? Codec::H264 : Codec::VP8));
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
    auto has = [&](const char *e) { return exists ? exists(e) : registry_has(e); };
    for (const auto &r : needed) {
        bool found = has(r.element);
        for (const auto &alt : r.alternatives)
            found = found || has(alt.element);
        if (!found)
            out.push_back(r);
    }
    return out;
}

std::string describe_missing(const std::vector<RequiredElement> &missing) {
    std::string out = "missing GStreamer elements:\n";
    std::vector<std::string> packages;
    for (const auto &r : missing) {
        out += std::string("  ") + r.element + " (in " + r.package + ")";
        for (const auto &alt : r.alternatives)
            out += std::string(" or ") + alt.element + " (in " + alt.package + ")";
        out += "\n";
        // The first choice's package is the one to install.
        if (std::find(packages.begin(), packages.end(), r.package) == packages.end())
            packages.emplace_back(r.package);
    }
    out += "install them with: apt-get install";
    for (const auto &p : packages)
        out += " " + p;
    return out;
}

} // namespace duet::pipelines
