// SPDX-License-Identifier: MIT
// Test helpers that parse a pipeline description the way duet-peer does and read back the
// elements, links, properties and caps it made: tests check behaviour, not spelling.
#pragma once

#include "tests/check_str.h"

#include <gst/gst.h>

#include <string>
#include <vector>

namespace duet::test {


inline bool has(const std::string &haystack, const char *needle) {
    return haystack.find(needle) != std::string::npos;
}

// A description parsed the way the peer parses it (a bin; unlinked pads ghosted when asked),
// so the tests check the elements it makes and their properties, not how it is spelled.
class Parsed {
  public:
    explicit Parsed(const std::string &desc, bool ghost = true) {
        GError *err = nullptr;
        bin_ = gst_parse_bin_from_description(desc.c_str(), ghost, &err);
        if (!bin_)
            g_printerr("does not parse: %s\n  %s\n", desc.c_str(), err ? err->message : "?");
        g_assert_no_error(err);
        g_assert_nonnull(bin_);
        gst_object_ref_sink(bin_);
    }
    ~Parsed() { gst_object_unref(bin_); }
    Parsed(const Parsed &) = delete;
    Parsed &operator=(const Parsed &) = delete;

    GstElement *bin() const { return bin_; }

    std::vector<GstElement *> all(const char *factory) const {
        std::vector<GstElement *> out;
        // Top level only: autoaudiosrc and friends hold elements of their own.
        GstIterator *it = gst_bin_iterate_elements(GST_BIN(bin_));
        GValue v = G_VALUE_INIT;
        while (gst_iterator_next(it, &v) == GST_ITERATOR_OK) {
            auto *e = GST_ELEMENT(g_value_get_object(&v));
            if (g_str_equal(factory_of(e), factory))
                out.push_back(e); // the bin holds a reference
            g_value_reset(&v);
        }
        g_value_unset(&v);
        gst_iterator_free(it);
        return out;
    }
    bool has_element(const char *factory) const { return !all(factory).empty(); }
    // The one element made by `factory`.
    GstElement *one(const char *factory) const {
        auto v = all(factory);
        if (v.size() != 1)
            g_error("expected one %s, found %zu", factory, v.size());
        return v[0];
    }
    GstElement *named(const char *name) const {
        GstElement *e = gst_bin_get_by_name(GST_BIN(bin_), name);
        if (!e)
            return nullptr;
        gst_object_unref(e); // the bin holds a reference
        return e;
    }

    static const char *factory_of(GstElement *e) {
        GstElementFactory *f = gst_element_get_factory(e);
        return f ? GST_OBJECT_NAME(f) : "";
    }

  private:
    GstElement *bin_ = nullptr;
};

// The element linked to `e`'s `pad_name` pad (`src`: downstream, `sink`: upstream).
inline GstElement *peer_of(GstElement *e, const char *pad_name) {
    GstPad *pad = gst_element_get_static_pad(e, pad_name);
    g_assert_nonnull(pad);
    GstPad *peer = gst_pad_get_peer(pad);
    gst_object_unref(pad);
    if (!peer)
        return nullptr;
    GstElement *parent = gst_pad_get_parent_element(peer);
    gst_object_unref(peer);
    if (parent)
        gst_object_unref(parent); // still held by the bin
    return parent;
}
inline GstElement *downstream(GstElement *e) {
    return peer_of(e, "src");
}
inline GstElement *upstream(GstElement *e) {
    return peer_of(e, "sink");
}

inline const char *factory(GstElement *e) {
    return e ? Parsed::factory_of(e) : "(nothing)";
}
inline const char *name(GstElement *e) {
    return e ? GST_OBJECT_NAME(e) : "(nothing)";
}

inline GValue prop(GstElement *e, const char *property) {
    GParamSpec *spec = g_object_class_find_property(G_OBJECT_GET_CLASS(e), property);
    if (!spec)
        g_error("%s has no property %s", factory(e), property);
    GValue v = G_VALUE_INIT;
    g_value_init(&v, spec->value_type);
    g_object_get_property(G_OBJECT(e), property, &v);
    return v;
}

// Any integer property, whatever its C type.
inline gint64 int_prop(GstElement *e, const char *property) {
    GValue v = prop(e, property);
    GValue i = G_VALUE_INIT;
    g_value_init(&i, G_TYPE_INT64);
    g_assert_true(g_value_transform(&v, &i));
    gint64 out = g_value_get_int64(&i);
    g_value_unset(&v);
    return out;
}

inline bool bool_prop(GstElement *e, const char *property) {
    GValue v = prop(e, property);
    bool out = g_value_get_boolean(&v);
    g_value_unset(&v);
    return out;
}

inline std::string str_prop(GstElement *e, const char *property) {
    GValue v = prop(e, property);
    std::string out = g_value_get_string(&v) ? g_value_get_string(&v) : "";
    g_value_unset(&v);
    return out;
}

// An enum's nick, or a flags value's nicks joined by '+' (as gst-inspect shows them).
inline std::string enum_prop(GstElement *e, const char *property) {
    GValue v = prop(e, property);
    std::string out;
    if (G_VALUE_HOLDS_ENUM(&v)) {
        GEnumClass *k = G_ENUM_CLASS(g_type_class_ref(G_VALUE_TYPE(&v)));
        GEnumValue *ev = g_enum_get_value(k, g_value_get_enum(&v));
        out = ev ? ev->value_nick : "?";
        g_type_class_unref(k);
    } else {
        g_assert_true(G_VALUE_HOLDS_FLAGS(&v));
        GFlagsClass *k = G_FLAGS_CLASS(g_type_class_ref(G_VALUE_TYPE(&v)));
        guint bits = g_value_get_flags(&v);
        for (guint i = 0; i < k->n_values; ++i) {
            if (k->values[i].value && (bits & k->values[i].value) == k->values[i].value) {
                out += (out.empty() ? "" : "+") + std::string(k->values[i].value_nick);
                bits &= ~k->values[i].value;
            }
        }
        g_type_class_unref(k);
    }
    g_value_unset(&v);
    return out;
}

// The one structure of a caps filter's caps (a caps string in a description is a capsfilter).
struct CapsFields {
    explicit CapsFields(GstElement *capsfilter) {
        g_assert_cmpstr(factory(capsfilter), ==, "capsfilter");
        g_object_get(capsfilter, "caps", &caps, nullptr);
        g_assert_nonnull(caps);
        g_assert_cmpuint(gst_caps_get_size(caps), ==, 1);
        s = gst_caps_get_structure(caps, 0);
    }
    explicit CapsFields(const std::string &text) : caps(gst_caps_from_string(text.c_str())) {
        g_assert_nonnull(caps);
        g_assert_cmpuint(gst_caps_get_size(caps), ==, 1);
        s = gst_caps_get_structure(caps, 0);
    }
    ~CapsFields() { gst_caps_unref(caps); }
    CapsFields(const CapsFields &) = delete;
    CapsFields &operator=(const CapsFields &) = delete;

    std::string media_type() const { return gst_structure_get_name(s); }
    int integer(const char *field) const {
        int v = -1;
        if (!gst_structure_get_int(s, field, &v))
            g_error("caps %s have no integer %s", gst_structure_get_name(s), field);
        return v;
    }
    std::string string(const char *field) const {
        const char *v = gst_structure_get_string(s, field);
        if (!v)
            g_error("caps %s have no string %s", gst_structure_get_name(s), field);
        return v;
    }
    std::string fraction(const char *field) const {
        int n = 0, d = 0;
        if (!gst_structure_get_fraction(s, field, &n, &d))
            g_error("caps %s have no fraction %s", gst_structure_get_name(s), field);
        return std::to_string(n) + "/" + std::to_string(d);
    }

    GstCaps *caps = nullptr;
    const GstStructure *s = nullptr;
};

inline void check_rtp_caps(const CapsFields &c, const char *media, const char *encoding, int clock,
                    int pt) {
    check_str_eq(c.media_type(), "application/x-rtp");
    check_str_eq(c.string("media"), media);
    check_str_eq(c.string("encoding-name"), encoding);
    g_assert_cmpint(c.integer("clock-rate"), ==, clock);
    g_assert_cmpint(c.integer("payload"), ==, pt);
}

} // namespace duet::test
