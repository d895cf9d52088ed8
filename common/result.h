// SPDX-License-Identifier: MIT
// Result<T>: the value of an operation that can fail, or the reason it failed.
//
// The one error convention for duet's own code: factories, start(), parsers and
// validators return Result<T> (Result<void> when there is no value) instead of a bool or
// optional beside a `std::string *why`. GError stays at the GLib boundary, converted here
// with Error::from.
#pragma once

#include <glib.h>

#include <string>
#include <utility>
#include <variant>

namespace duet {

// Why something failed: a sentence for a person (logs, stderr, an `error` event).
struct Error {
    std::string message;
    // A short machine-readable name, where a caller dispatches on the kind of failure
    // (e.g. duet-peer's `--events` error codes); empty when there is one kind.
    std::string code = {};

    // Takes over a GError's message (and frees it). `context` goes first, as in
    // "cannot read --config x.conf: No such file".
    static Error from(GError *error, const std::string &context = {}) {
        std::string m = context;
        if (error) {
            if (!m.empty())
                m += ": ";
            m += error->message;
            g_error_free(error);
        }
        return Error{std::move(m)};
    }
};

// Builds the failure side of any Result: `return fail("--port must be 0..65535");`.
inline Error fail(std::string message) {
    return Error{std::move(message)};
}
inline Error fail(std::string code, std::string message) {
    return Error{std::move(message), std::move(code)};
}

template <typename T> class [[nodiscard]] Result {
  public:
    Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}
    Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}

    bool ok() const { return v_.index() == 0; }
    explicit operator bool() const { return ok(); }

    // Only when ok().
    T &value() & { return std::get<0>(v_); }
    const T &value() const & { return std::get<0>(v_); }
    T &&value() && { return std::get<0>(std::move(v_)); }
    T *operator->() { return &value(); }
    T &operator*() & { return value(); }

    // Only when !ok().
    const Error &error() const { return std::get<1>(v_); }
    const std::string &message() const { return error().message; }

  private:
    std::variant<T, Error> v_;
};

template <> class [[nodiscard]] Result<void> {
  public:
    Result() = default;
    Result(Error error) : error_(std::move(error)), ok_(false) {}

    bool ok() const { return ok_; }
    explicit operator bool() const { return ok_; }
    const Error &error() const { return error_; }
    const std::string &message() const { return error_.message; }

  private:
    Error error_;
    bool ok_ = true;
};

} // namespace duet
