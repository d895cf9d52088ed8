// SPDX-License-Identifier: MIT
// Backoff delay computation.
#include "src/peer/backoff.h"

#include <glib.h>

#include <algorithm>

namespace duet::peer {

unsigned Backoff::next() {
    ++attempt_;
    double nominal = initial_ms_;
    for (unsigned i = 1; i < attempt_ && nominal < max_ms_; ++i)
        nominal *= 2;
    nominal = std::min<double>(nominal, max_ms_);
    double r = random01_ ? random01_() : g_random_double();
    r = std::clamp(r, 0.0, 1.0);
    return unsigned(nominal / 2 + r * nominal / 2);
}

} // namespace duet::peer
