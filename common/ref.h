// SPDX-License-Identifier: MIT
// Ownership of GLib/GObject/GStreamer pointers: Ref<T> for refcounted ones, Owned<T> for the rest.
//
// The one place to learn how duet owns C pointers (after WebKit's GRefPtr):
//
//   Ref<T>    one reference to a refcounted instance. RefTraits<T> says how to ref and
//             unref it and whether it can be floating. GObject types (GstObject subclasses
//             included: elements, pads, buses, bins) work with no declaration;
//             GstMiniObject types (GstCaps, GstBuffer, GstMessage, GstPromise, ...) get
//             their traits from common/gst_ref.h.
//   Owned<T>  the sole owner of a pointer that is freed, not shared: gchar* strings,
//             GError, GKeyFile, GOptionContext, GUri, GBytes, GstStructure, GstSDPMessage,
//             GstWebRTCSessionDescription. OwnedTraits<T> names the free function.
//   GErr      Owned<GError> with `message()`, for `GError **` out-parameters.
//
// Two ways in, never confused:
//   Ref<T>::adopt(p)  takes over a reference the caller already owns (transfer full, e.g.
//                     gst_bin_get_by_name, gst_element_get_static_pad, g_object_new of a
//                     non-floating type). The count does not change. A *floating* reference
//                     (transfer floating: gst_element_factory_make, gst_parse_launch,
//                     gst_ghost_pad_new, gst_bin_new) is claimed: it is sunk, which clears
//                     the flag without adding a reference, so a later gst_bin_add() takes
//                     its own reference instead of stealing ours. (WebKit asserts here; we
//                     sink, because every floating reference we meet is one we mean to own.)
//   Ref<T>::ref(p)    adds a reference (transfer none: a borrowed pointer we want to keep).
//                     A floating reference is sunk instead, as g_object_ref_sink does.
// Copying a Ref adds a reference; moving leaves the source empty. `release()` hands the
// reference back to the caller; `out()` resets and returns a `T **` for transfer-full
// out-parameters (g_object_get of an object property, gst_structure_get, ...).
//
// Borrowed pointers stay raw `T *` and say so in a comment where that is not obvious.
#pragma once

#include <glib-object.h>

#include <utility>

namespace duet {

// How Ref<T> manages a T. The default fits every GObject type.
template <typename T> struct RefTraits {
    static T *ref(T *p) { return static_cast<T *>(g_object_ref(p)); }
    static void unref(T *p) { g_object_unref(p); }
    // Claims a floating reference (no count change), or adds one to a non-floating object.
    static T *ref_sink(T *p) { return static_cast<T *>(g_object_ref_sink(p)); }
    static bool is_floating(T *p) { return g_object_is_floating(p); }
};

template <typename T> class Ref {
  public:
    Ref() = default;
    Ref(std::nullptr_t) {}
    ~Ref() { reset(); }
    Ref(const Ref &o) : p_(o.p_ ? RefTraits<T>::ref(o.p_) : nullptr) {}
    Ref(Ref &&o) noexcept : p_(std::exchange(o.p_, nullptr)) {}
    Ref &operator=(Ref o) noexcept {
        std::swap(p_, o.p_);
        return *this;
    }

    // Takes over an owned (or floating) reference; see the header comment.
    [[nodiscard]] static Ref adopt(T *p) {
        Ref r;
        if (p && RefTraits<T>::is_floating(p))
            p = RefTraits<T>::ref_sink(p);
        r.p_ = p;
        return r;
    }
    // Adds a reference to a borrowed pointer (sinking a floating one).
    [[nodiscard]] static Ref ref(T *p) {
        Ref r;
        r.p_ = p ? RefTraits<T>::ref_sink(p) : nullptr;
        return r;
    }

    T *get() const { return p_; }
    T *operator->() const { return p_; }
    explicit operator bool() const { return p_ != nullptr; }
    // Gives the reference to the caller, who now unrefs it.
    [[nodiscard]] T *release() { return std::exchange(p_, nullptr); }
    void reset() {
        if (T *p = std::exchange(p_, nullptr))
            RefTraits<T>::unref(p);
    }
    // For transfer-full `T **` out-parameters.
    T **out() {
        reset();
        return &p_;
    }

    friend bool operator==(const Ref &a, const T *b) { return a.p_ == b; }

  private:
    T *p_ = nullptr;
};

// How Owned<T> frees a T. Specialised per type, next to the type's header: the GLib ones
// here, the GStreamer ones in common/gst_ref.h.
template <typename T> struct OwnedTraits;
template <> struct OwnedTraits<gchar> {
    static void free(gchar *p) { g_free(p); }
};
// A NULL-terminated string array (g_strsplit, g_key_file_get_keys): Owned<gchar *>.
template <> struct OwnedTraits<gchar *> {
    static void free(gchar **p) { g_strfreev(p); }
};
template <> struct OwnedTraits<GError> {
    static void free(GError *p) { g_error_free(p); }
};
template <> struct OwnedTraits<GKeyFile> {
    static void free(GKeyFile *p) { g_key_file_unref(p); }
};
template <> struct OwnedTraits<GOptionContext> {
    static void free(GOptionContext *p) { g_option_context_free(p); }
};
template <> struct OwnedTraits<GUri> {
    static void free(GUri *p) { g_uri_unref(p); }
};
template <> struct OwnedTraits<GBytes> {
    static void free(GBytes *p) { g_bytes_unref(p); }
};
template <> struct OwnedTraits<GMainContext> {
    static void free(GMainContext *p) { g_main_context_unref(p); }
};

// Sole owner of a pointer: `Owned<gchar> s(g_strdup(...))`, `s.get()`, `s.out()`.
// Move-only; the constructor adopts.
template <typename T> class Owned {
  public:
    Owned() = default;
    explicit Owned(T *p) : p_(p) {}
    ~Owned() { reset(); }
    Owned(const Owned &) = delete;
    Owned &operator=(const Owned &) = delete;
    Owned(Owned &&o) noexcept : p_(std::exchange(o.p_, nullptr)) {}
    Owned &operator=(Owned &&o) noexcept {
        reset(o.release());
        return *this;
    }

    T *get() const { return p_; }
    T *operator->() const { return p_; }
    explicit operator bool() const { return p_ != nullptr; }
    [[nodiscard]] T *release() { return std::exchange(p_, nullptr); }
    void reset(T *p = nullptr) {
        if (T *old = std::exchange(p_, p))
            OwnedTraits<T>::free(old);
    }
    // For `T **` out-parameters the callee fills with a new allocation.
    T **out() {
        reset();
        return &p_;
    }

  private:
    T *p_ = nullptr;
};

// A GError out-parameter and its owner: `GErr err; f(..., err.out()); err.message()`.
class GErr : public Owned<GError> {
  public:
    const char *message() const { return get() ? get()->message : ""; }
};

} // namespace duet
