// SPDX-License-Identifier: MIT
// Startup check for the GStreamer elements a call needs, naming the Debian package of each.
#pragma once

#include "pipelines/codecs.h"
#include "pipelines/media_options.h"

#include <functional>
#include <string>
#include <vector>

namespace duet::pipelines {

struct RequiredElement {
    const char *element;
    const char *package; // the Debian 12 package that ships it
    // Any of these will do instead (other decoders or encoders of the same codec).
    std::vector<PackagedElement> alternatives = {};
};

// Elements the given options need. `auto` sources need the test sources (their fallback)
// but not the devices' elements: a missing v4l2src just means falling back. Codecs come
// from the codec table: --video-codec's codec must be complete (some encoder and some
// decoder); with `auto`, VP8 must be (every browser has it) and H.264 is used if present.
std::vector<RequiredElement> required_elements(const MediaOptions &opts);

// Those of `needed` for which `exists` says no. The default asks the GStreamer registry.
std::vector<RequiredElement> missing_elements(const std::vector<RequiredElement> &needed,
                                              const std::function<bool(const char *)> &exists = {});

// A message for the user: one line per element, then an apt-get line with the packages.
std::string describe_missing(const std::vector<RequiredElement> &missing);

} // namespace duet::pipelines
