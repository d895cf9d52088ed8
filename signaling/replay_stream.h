// SPDX-License-Identifier: MIT
// A GIOStream that first yields bytes already read from a connection, then the connection.
//
// duet-server reads each request's head itself (to time it out, bound its size and count
// it) before libsoup sees the connection; libsoup then parses the same bytes from here.
#pragma once

#include <gio/gio.h>

namespace duet::signaling {

// Returns a new stream (full reference) over `base`, which it keeps alive and closes with
// itself. Reads return `prefix` (copied) first, then `base`'s input. Writes go to `base`.
// Both directions stay pollable when `base`'s are.
GIOStream *replay_stream_new(GIOStream *base, const char *prefix, gsize len);

} // namespace duet::signaling
