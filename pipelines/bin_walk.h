// SPDX-License-Identifier: MIT
// Finding elements inside a bin by what they are: webrtcbin and parsed launch lines build
// their children themselves, so duet-peer looks them up after the fact.
#pragma once

#include <gst/gst.h>

#include <functional>

namespace duet::pipelines {

// Calls `fn` on every element inside `bin`, at any depth, until it returns false. The walk
// ends early too if the bin changes under it (the callers look again later if need be).
inline void for_each_element(GstBin *bin, const std::function<bool(GstElement *)> &fn) {
    GstIterator *it = gst_bin_iterate_recurse(bin);
    GValue item = G_VALUE_INIT;
    bool more = true;
    while (more && gst_iterator_next(it, &item) == GST_ITERATOR_OK) {
        more = fn(GST_ELEMENT(g_value_get_object(&item)));
        g_value_reset(&item);
    }
    g_value_unset(&item);
    gst_iterator_free(it);
}

// Whether `e` was made by the element factory named `factory` ("rtpredenc", ...).
inline bool made_by(GstElement *e, const char *factory) {
    GstElementFactory *f = gst_element_get_factory(e);
    return f && g_str_equal(gst_plugin_feature_get_name(GST_PLUGIN_FEATURE(f)), factory);
}

} // namespace duet::pipelines
