// SPDX-License-Identifier: MIT
// RAII owners for GLib/GObject/GStreamer references, keeping "adopt" and "ref" apart.
#pragma once

#include <glib-object.h>

#include <utility>

namespace duet {

// Owns one reference to a GObject-like instance. `adopt` takes over a reference the caller
// already owns; `ref` adds a new one. Floating references are sunk on ref.
template <typename T, void (*Unref)(gpointer) = g_object_unref> class Ref {
  public:
    Ref() = default;
    ~Ref() { reset(); }
    Ref(const Ref &o) : p_(o.p_) {
        if (p_)
            g_object_ref(p_);
    }
    Ref(Ref &&o) noexcept : p_(std::exchange(o.p_, nullptr)) {}
    Ref &operator=(Ref o) noexcept {
        std::swap(p_, o.p_);
        return *this;
    }

    static Ref adopt(T *p) {
        Ref r;
        r.p_ = p;
        return r;
    }
    static Ref ref(T *p) {
        Ref r;
        r.p_ = p ? static_cast<T *>(g_object_ref_sink(p)) : nullptr;
        return r;
    }

    T *get() const { return p_; }
    T *operator->() const { return p_; }
    explicit operator bool() const { return p_ != nullptr; }
    T *release() { return std::exchange(p_, nullptr); }
    void reset() {
        if (T *p = std::exchange(p_, nullptr))
            Unref(p);
    }

  private:
    T *p_ = nullptr;
};

// Owns a g_malloc'd buffer (gchar*, etc.).
struct GFreeDeleter {
    void operator()(gpointer p) const { g_free(p); }
};

// Owns a GError and frees it on scope exit; pass `out()` to functions taking GError**.
class GErr {
  public:
    GErr() = default;
    ~GErr() { g_clear_error(&e_); }
    GErr(const GErr &) = delete;
    GErr &operator=(const GErr &) = delete;
    GError **out() {
        g_clear_error(&e_);
        return &e_;
    }
    explicit operator bool() const { return e_ != nullptr; }
    const char *message() const { return e_ ? e_->message : ""; }
    GError *get() const { return e_; }

  private:
    GError *e_ = nullptr;
};

} // namespace duet
