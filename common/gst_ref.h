// SPDX-License-Identifier: MIT
// RAII owners for GStreamer objects and mini-objects, built on the GObject helpers in gobj.h.
#pragma once

#include "common/gobj.h"

#include <gst/gst.h>

#include <memory>

namespace duet {

// GstObject subclasses (elements, pads, buses): `GstRef<GstElement>::adopt(...)`.
template <typename T> using GstRef = Ref<T, gst_object_unref>;

struct GstCapsDeleter {
    void operator()(GstCaps *c) const { gst_caps_unref(c); }
};
using CapsPtr = std::unique_ptr<GstCaps, GstCapsDeleter>;

struct GstMessageDeleter {
    void operator()(GstMessage *m) const { gst_message_unref(m); }
};
using MessagePtr = std::unique_ptr<GstMessage, GstMessageDeleter>;

struct GFreeString {
    void operator()(gchar *s) const { g_free(s); }
};
using GCharPtr = std::unique_ptr<gchar, GFreeString>;

} // namespace duet
