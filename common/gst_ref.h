// SPDX-License-Identifier: MIT
// Ref<T>/Owned<T> traits for GStreamer's mini-objects and boxed types (see common/ref.h).
//
// Header-only, so duet-common itself depends on GLib alone. GstObject subclasses need
// nothing here: they are GObjects, and Ref<GstElement> uses the default traits.
#pragma once

#include "common/ref.h"

#include <gst/gst.h>
#include <gst/sdp/sdp.h>
#ifndef GST_USE_UNSTABLE_API
#define GST_USE_UNSTABLE_API // webrtc.h warns without it; its API is stable in practice
#endif
#include <gst/webrtc/webrtc.h>

namespace duet {

// Mini-objects are never floating: adopt and ref differ only in adding a reference.
template <typename T> struct MiniObjectRefTraits {
    static T *ref(T *p) {
        return reinterpret_cast<T *>(gst_mini_object_ref(GST_MINI_OBJECT_CAST(p)));
    }
    static void unref(T *p) { gst_mini_object_unref(GST_MINI_OBJECT_CAST(p)); }
    static T *ref_sink(T *p) { return ref(p); }
    static bool is_floating(T *) { return false; }
};

#define DUET_MINI_OBJECT_REF(Type)                                                                 \
    template <> struct RefTraits<Type> : MiniObjectRefTraits<Type> {}
DUET_MINI_OBJECT_REF(GstCaps);
DUET_MINI_OBJECT_REF(GstBuffer);
DUET_MINI_OBJECT_REF(GstBufferList);
DUET_MINI_OBJECT_REF(GstMessage);
DUET_MINI_OBJECT_REF(GstEvent);
DUET_MINI_OBJECT_REF(GstQuery);
DUET_MINI_OBJECT_REF(GstSample);
DUET_MINI_OBJECT_REF(GstPromise);
#undef DUET_MINI_OBJECT_REF

template <> struct OwnedTraits<GstStructure> {
    static void free(GstStructure *p) { gst_structure_free(p); }
};
template <> struct OwnedTraits<GstSDPMessage> {
    static void free(GstSDPMessage *p) { gst_sdp_message_free(p); }
};
template <> struct OwnedTraits<GstWebRTCSessionDescription> {
    static void free(GstWebRTCSessionDescription *p) { gst_webrtc_session_description_free(p); }
};

} // namespace duet
