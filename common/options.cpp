// SPDX-License-Identifier: MIT
// The option engine: one table in, GOption entries, key-file reading and checks out.
#include "common/options.h"

#include "common/ref.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <memory>

namespace duet::options {
namespace {

// What the command line and the key-file said about one option, before conversion.
struct Given {
    bool on_cli = false, in_file = false;
    std::vector<std::string> values; // the last one counts, except for lists
};

// Everything GOption's strings and callback point into; outlives the GOptionContext.
struct State {
    const Program *program;
    const std::vector<Option> *table;
    std::vector<Given> given;
    std::string config_path;
    bool config_given = false;
    std::deque<std::string> texts; // --help strings built here (a deque never moves them)
};

using Context = Owned<GOptionContext>;

gboolean on_option(const gchar *name, const gchar *value, gpointer data, GError **) {
    auto *st = static_cast<State *>(data);
    const bool is_long = name[0] == '-' && name[1] == '-';
    if (is_long && std::strcmp(name + 2, "config") == 0) {
        st->config_path = value ? value : "";
        st->config_given = true;
        return TRUE;
    }
    if (is_long && std::strcmp(name + 2, "help-man") == 0) {
        // Like GLib's --help: print and exit, whatever else the command line says.
        std::fputs(man_options(*st->program, *st->table).c_str(), stdout);
        std::fflush(stdout);
        std::exit(0);
    }
    for (std::size_t i = 0; i < st->table->size(); ++i) {
        const Option &o = (*st->table)[i];
        if (is_long ? std::strcmp(name + 2, o.name) == 0 : name[1] == o.short_name) {
            Given &g = st->given[i];
            if (!g.on_cli)
                g.values.clear();
            g.on_cli = true;
            g.values.emplace_back(value ? value : "true");
            return TRUE;
        }
    }
    return FALSE; // not reached: GOption only calls back for entries it was given
}

GOptionEntry entry_for(const Option &o, State &st) {
    GOptionEntry e{};
    e.long_name = o.name;
    e.short_name = o.short_name;
    e.arg = G_OPTION_ARG_CALLBACK;
    e.arg_data = reinterpret_cast<gpointer>(&on_option);
    e.description = o.help;
    e.arg_description = o.arg;
    if (o.kind == Kind::Flag)
        e.flags = G_OPTION_FLAG_NO_ARG;
    // Text too: GOption would convert it from the locale's charset, and under the C locale
    // (no setlocale in our mains, the usual case under systemd) that refuses any non-ASCII
    // byte ("Invalid byte sequence in conversion input") before a room or display name
    // like "Café" reaches its check. Taken as bytes, the checks themselves require UTF-8.
    if (o.kind == Kind::Filename || o.kind == Kind::String)
        e.flags = G_OPTION_FLAG_FILENAME;
    if (o.kind == Kind::Choice && !o.arg) {
        std::string words;
        for (const char *c : o.choices)
            words += (words.empty() ? "" : "|") + std::string(c);
        e.arg_description = st.texts.emplace_back(std::move(words)).c_str();
    }
    return e;
}

Context make_context(State &st) {
    std::vector<GOptionEntry> entries;
    for (const Option &o : *st.table)
        entries.push_back(entry_for(o, st));
    const std::string &config_help =
        st.texts.emplace_back(std::string("Read settings from a key-file ([") + st.program->group +
                              "] group, keys as the long flags)");
    entries.push_back({"config", 0, G_OPTION_FLAG_FILENAME, G_OPTION_ARG_CALLBACK,
                       reinterpret_cast<gpointer>(&on_option), config_help.c_str(), "FILE"});
    entries.push_back({"help-man", 0, G_OPTION_FLAG_HIDDEN | G_OPTION_FLAG_NO_ARG,
                       G_OPTION_ARG_CALLBACK, reinterpret_cast<gpointer>(&on_option),
                       "Print the options as the man page's OPTIONS section (roff)", nullptr});
    entries.push_back({});
    Context ctx(g_option_context_new(st.program->parameter));
    if (st.program->summary)
        g_option_context_set_summary(ctx.get(), st.program->summary);
    if (st.program->description)
        g_option_context_set_description(ctx.get(), st.program->description);
    GOptionGroup *group = g_option_group_new(nullptr, nullptr, nullptr, &st, nullptr);
    g_option_group_add_entries(group, entries.data()); // copies the array, not the strings
    g_option_context_set_main_group(ctx.get(), group);
    return ctx;
}

std::string flag_name(const Option &o) {
    return std::string("--") + o.name;
}

// "auto, window or none"
std::string either(const std::vector<const char *> &words) {
    std::string out;
    for (std::size_t i = 0; i < words.size(); ++i)
        out += (i == 0 ? "" : i + 1 == words.size() ? " or " : ", ") + std::string(words[i]);
    return out;
}

// The value as the setter takes it; the last value given counts, except for a list.
Result<Value> convert(const Option &o, const std::vector<std::string> &values) {
    Value v;
    const std::string &last = values.back();
    switch (o.kind) {
    case Kind::Int: {
        char *end = nullptr;
        errno = 0;
        long long n = g_ascii_strtoll(last.c_str(), &end, 10);
        if (last.empty() || *end || errno || n < G_MININT || n > G_MAXINT)
            return fail(flag_name(o) + ": '" + last + "' is not a whole number");
        if ((n < o.min || n > o.max) && !(n == 0 && o.zero_means))
            return fail(range_message(o));
        v.number = n;
        break;
    }
    case Kind::Flag:
        if (last != "true" && last != "false" && last != "1" && last != "0")
            return fail(flag_name(o) + ": '" + last + "' is not true or false");
        v.number = last == "true" || last == "1";
        break;
    case Kind::Choice:
        for (std::size_t i = 0; i < o.choices.size(); ++i)
            if (last == o.choices[i])
                v.number = static_cast<long long>(i), v.text = last;
        if (v.text.empty())
            return fail(flag_name(o) + " must be " + either(o.choices));
        break;
    case Kind::StringList:
        v.list = values;
        break;
    case Kind::String:
    case Kind::Filename:
        v.text = last;
        break;
    }
    return v;
}

// One key's values from the file: a list is split at ';', anything else is one string.
Result<std::vector<std::string>> key_values(GKeyFile *kf, const char *group, const Option &o) {
    std::vector<std::string> out;
    GErr err;
    if (o.kind == Kind::StringList) {
        gchar **items = g_key_file_get_string_list(kf, group, o.name, nullptr, err.out());
        for (gchar **i = items; i && *i; ++i)
            if (*g_strstrip(*i))
                out.emplace_back(*i);
        g_strfreev(items);
    } else if (Owned<gchar> s{g_key_file_get_string(kf, group, o.name, err.out())}) {
        out.emplace_back(g_strstrip(s.get()));
    }
    if (err)
        return fail(std::string(o.name) + ": " + err.message());
    return out;
}

// Fills in what the command line left unset from the key-file at st.config_path.
Result<void> read_key_file(State &st) {
    const std::string where = "--config " + st.config_path + ": ";
    if (st.config_path.empty())
        return fail("--config needs a file name");
    Owned<GKeyFile> kf(g_key_file_new());
    GErr err;
    if (!g_key_file_load_from_file(kf.get(), st.config_path.c_str(), G_KEY_FILE_NONE, err.out()))
        return fail("cannot read " + where + err.message());
    const char *group = st.program->group;
    gsize n = 0;
    Owned<gchar *> keys(g_key_file_get_keys(kf.get(), group, &n, nullptr));
    for (gsize k = 0; k < n; ++k) {
        const char *key = keys.get()[k];
        std::size_t i = 0;
        while (i < st.table->size() && std::strcmp((*st.table)[i].name, key) != 0)
            ++i;
        if (i == st.table->size())
            return fail(where + "unknown key '" + key + "' in [" + group + "]");
        Given &g = st.given[i];
        if (g.on_cli)
            continue;
        auto values = key_values(kf.get(), group, (*st.table)[i]);
        if (!values)
            return fail(where + values.message());
        g.values = std::move(values.value());
        g.in_file = !g.values.empty();
    }
    return {};
}

// Converts, checks and stores every option given, in table order.
Result<void> apply(const State &st) {
    for (std::size_t i = 0; i < st.table->size(); ++i) {
        const Option &o = (*st.table)[i];
        const Given &g = st.given[i];
        if (!g.on_cli && !g.in_file) {
            if (o.required)
                return fail(flag_name(o) + " " + (o.arg ? o.arg : "") + " is required");
            continue;
        }
        const std::string where = g.on_cli ? "" : "--config " + st.config_path + ": ";
        auto value = convert(o, g.values);
        if (!value)
            return fail(where + value.message());
        if (auto set = o.set(*value); !set)
            return fail(where + set.message());
    }
    return {};
}

// "0 (off) or 100..60000 ms", "1..120", ">= 0": what an Int option takes.
std::string allowed_range(const Option &o) {
    std::string m;
    if (o.zero_means)
        m += std::string("0 (") + o.zero_means + ") or ";
    m += o.max == G_MAXINT ? ">= " + std::to_string(o.min)
                           : std::to_string(o.min) + ".." + std::to_string(o.max);
    if (o.unit)
        m += std::string(" ") + o.unit;
    return m;
}

// Text as roff shows it literally: '\' is \e, '-' is \- (a minus, which neither breaks
// a line nor turns into a hyphen, so flags can be copied), and no line starts with a
// control character ('.' or '\'').
std::string roff(const std::string &text) {
    std::string out;
    bool line_start = true;
    for (char c : text) {
        if (line_start && (c == '.' || c == '\''))
            out += "\\&";
        if (c == '\\')
            out += "\\e";
        else if (c == '-')
            out += "\\-";
        else
            out += c;
        line_start = c == '\n';
    }
    return out;
}

// ".TP" paragraph head: "\fB\-n\fR, \fB\-\-name\fR \fIARG\fR".
std::string man_head(char short_name, const std::string &name, const char *arg) {
    std::string head = ".TP\n";
    if (short_name)
        head += "\\fB\\-" + std::string(1, short_name) + "\\fR, ";
    head += "\\fB" + roff("--" + name) + "\\fR";
    if (arg)
        head += " \\fI" + roff(arg) + "\\fR";
    return head + "\n";
}

} // namespace

std::string range_message(const Option &o) {
    return flag_name(o) + " must be " + allowed_range(o);
}

std::string man_options(const Program &program, const std::vector<Option> &table) {
    std::string out;
    for (const Option &o : table) {
        std::string arg = o.arg ? o.arg : "";
        if (o.kind == Kind::Choice && !o.arg)
            for (const char *c : o.choices)
                arg += (arg.empty() ? "" : "|") + std::string(c);
        out += man_head(o.short_name, o.name, o.kind == Kind::Flag ? nullptr : arg.c_str());
        std::string text = o.help;
        if (!text.empty() && text.back() != '.')
            text += '.';
        if (o.kind == Kind::Int)
            text += " Allowed: " + allowed_range(o) + ".";
        if (o.kind == Kind::Choice)
            text += " One of: " + either(o.choices) + ".";
        if (o.kind == Kind::StringList)
            text += " May be given more than once; in the key-file, one key with the values "
                    "separated by ';'.";
        if (o.kind == Kind::Flag)
            text += std::string(" In the key-file: ") + o.name + "=true.";
        if (o.required)
            text += " Required, on the command line or in the key-file.";
        out += roff(text) + "\n";
    }
    out += man_head(0, "config", "FILE");
    out += roff(std::string("Read settings from a GLib key-file: group [") + program.group +
                "], keys named as the long flags without the dashes (port=8080). A flag given "
                "on the command line wins over the file; a repeatable flag given there "
                "replaces the file's whole list. An unknown key or a bad value is a usage "
                "error naming the file and the key.") +
           "\n";
    out += man_head('h', "help", nullptr);
    out += roff("Print a summary of the options and exit 0.") + "\n";
    return out;
}

Result<void> parse(const Program &program, const std::vector<Option> &table,
                   const std::vector<std::string> &args) {
    State st{&program, &table, std::vector<Given>(table.size())};
    Context ctx = make_context(st);
    // GOption frees what it consumes and leaves the rest, so argv is ours to free after.
    struct Strv {
        gchar **v;
        ~Strv() { g_strfreev(v); }
    } argv{g_new0(gchar *, args.size() + 1)};
    for (std::size_t i = 0; i < args.size(); ++i)
        argv.v[i] = g_strdup(args[i].c_str());
    GErr err;
    if (!g_option_context_parse_strv(ctx.get(), &argv.v, err.out()))
        return fail(err.message());
    if (argv.v[0] && argv.v[1])
        return fail(std::string("unexpected argument '") + argv.v[1] + "'");
    if (st.config_given)
        if (auto read = read_key_file(st); !read)
            return read;
    return apply(st);
}

std::string help_text(const Program &program, const std::vector<Option> &table) {
    State st{&program, &table, std::vector<Given>(table.size())};
    Context ctx = make_context(st);
    Owned<gchar> text(g_option_context_get_help(ctx.get(), TRUE, nullptr));
    return text.get();
}

} // namespace duet::options
