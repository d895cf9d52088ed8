// SPDX-License-Identifier: MIT
// A program's options, declared once in a table that drives the command line (GOption),
// the `--config FILE` key-file and the range checks.
//
// Each program lists its options with the builders below; every row names the long flag
// (also the key-file key), its kind and bounds, its --help text and a setter that stores
// the value in the program's config (and may refuse it). parse() then
//   - reads argv with GOption (`--help` prints the table and exits 0, as GLib does;
//     the hidden `--help-man` prints it as the man page's OPTIONS section and exits 0);
//   - reads `--config FILE`: group [program.group], keys are the long flag names; an
//     unknown key or a value of the wrong type is an error naming the key;
//   - lets the command line win: an option given there ignores the file's value (a list
//     given there replaces the file's list);
//   - checks integer ranges with one message format ("--fps must be 1..120");
//   - calls each given option's setter, in table order.
// Options not given are left alone: the config struct's initial values are the defaults.
#pragma once

#include "common/result.h"

#include <glib.h>

#include <functional>
#include <string>
#include <type_traits>
#include <vector>

namespace duet::options {

enum class Kind {
    Int,        // a whole number within [min, max]
    String,     // UTF-8 text
    Filename,   // a path, in the file system's encoding
    StringList, // repeatable; the key-file gives it as `a;b;c`
    Flag,       // no argument on the command line; `true`/`false` in the key-file
    Choice,     // one word of a fixed set
};

// A parsed value, as the setter sees it.
struct Value {
    long long number = 0;          // Int: the number; Choice: index into choices; Flag: 0/1
    std::string text;              // String, Filename, Choice
    std::vector<std::string> list; // StringList
};

using Setter = std::function<Result<void>(const Value &)>;

struct Option {
    const char *name = nullptr; // long flag without "--"; the key-file key
    Kind kind = Kind::String;
    const char *help = "";
    const char *arg = nullptr; // --help's name for the argument, e.g. "PORT"
    Setter set;
    int min = 0, max = G_MAXINT;      // Int
    const char *unit = nullptr;       // Int: said after the range in messages, e.g. "ms"
    const char *zero_means = nullptr; // Int: 0 is also allowed, and means this ("off")
    std::vector<const char *> choices;
    bool required = false;
    char short_name = 0;

    Option &&with_unit(const char *u) && { return unit = u, std::move(*this); }
    Option &&with_zero_meaning(const char *m) && { return zero_means = m, std::move(*this); }
    Option &&as_required() && { return required = true, std::move(*this); }
    Option &&with_short(char c) && { return short_name = c, std::move(*this); }
};

// Stores a value as it is: into(config.port), into(config.turn_uris), ...
template <typename T> Setter into(T &slot) {
    return [&slot](const Value &v) -> Result<void> {
        if constexpr (std::is_same_v<T, bool>)
            slot = v.number != 0;
        else if constexpr (std::is_arithmetic_v<T>)
            slot = T(v.number);
        else if constexpr (std::is_same_v<T, std::string>)
            slot = v.text;
        else
            slot = v.list;
        return {};
    };
}

inline Option integer(const char *name, int min, int max, const char *help, const char *arg,
                      Setter set) {
    Option o{name, Kind::Int, help, arg, std::move(set)};
    o.min = min;
    o.max = max;
    return o;
}
inline Option text(const char *name, const char *help, const char *arg, Setter set) {
    return Option{name, Kind::String, help, arg, std::move(set)};
}
inline Option filename(const char *name, const char *help, const char *arg, Setter set) {
    return Option{name, Kind::Filename, help, arg, std::move(set)};
}
inline Option list(const char *name, const char *help, const char *arg, Setter set) {
    return Option{name, Kind::StringList, help, arg, std::move(set)};
}
inline Option flag(const char *name, const char *help, Setter set) {
    return Option{name, Kind::Flag, help, nullptr, std::move(set)};
}
// `arg` defaults to the choices joined by '|'.
inline Option choice(const char *name, std::vector<const char *> choices, const char *help,
                     Setter set) {
    Option o{name, Kind::Choice, help, nullptr, std::move(set)};
    o.choices = std::move(choices);
    return o;
}

// What the program says about itself in --help, and its key-file group.
struct Program {
    const char *group;     // "server" for [server]
    const char *parameter; // after "Usage: prog [OPTION...]", e.g. "- duet room server"
    const char *summary = nullptr;
    const char *description = nullptr; // after the options
};

// Parses args (args[0] is the program name). Fails with a usage message for stderr.
Result<void> parse(const Program &program, const std::vector<Option> &table,
                   const std::vector<std::string> &args);

// The --help text, for tests and documentation.
std::string help_text(const Program &program, const std::vector<Option> &table);

// The OPTIONS section of the program's man page, in roff (man(7)): one .TP paragraph per
// row of the table, then --config and --help, with ranges, units, choices and whether a
// flag repeats. `prog --help-man` prints it and exits 0 (a hidden flag, like --help, and
// checked before anything else); the build pastes it into the hand-written page, so the
// page cannot miss a flag the program has.
std::string man_options(const Program &program, const std::vector<Option> &table);

// "--fps must be 1..120", "--duration must be >= 0", "--stats-interval must be 0 (off) or
// 100..60000 ms": the one way an out-of-range number is reported.
std::string range_message(const Option &o);

} // namespace duet::options
