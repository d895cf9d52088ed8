// SPDX-License-Identifier: MIT
// The strict one-pass JSON checker: a loop over the bytes with a stack of open containers,
// no tree and no allocation.
#include "json_scan.h"

#include <glib.h>

#include <cmath>

namespace duet::proto::json {
namespace {

bool is_ws(unsigned char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

bool is_digit(unsigned char c) {
    return c >= '0' && c <= '9';
}

int hex_value(unsigned char c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

// Four hex digits at text[i..i+4) as a UTF-16 code unit; -1 if they are not there.
long hex4(std::string_view text, std::size_t i) {
    if (i + 4 > text.size())
        return -1;
    long v = 0;
    for (std::size_t k = i; k < i + 4; ++k) {
        int d = hex_value(static_cast<unsigned char>(text[k]));
        if (d < 0)
            return -1;
        v = v * 16 + d;
    }
    return v;
}

// The length of the UTF-8 sequence starting at text[i] (a byte >= 0x80), or 0 if it is not
// one: no overlong forms, no UTF-16 surrogates, nothing past U+10FFFF (as g_utf8_validate).
std::size_t utf8_length(std::string_view text, std::size_t i) {
    auto at = [&](std::size_t k) -> unsigned {
        return i + k < text.size() ? static_cast<unsigned char>(text[i + k]) : 0;
    };
    auto cont = [&](std::size_t k) { return (at(k) & 0xC0) == 0x80; };
    unsigned c = at(0);
    if (c >= 0xC2 && c <= 0xDF)
        return cont(1) ? 2 : 0;
    if (c >= 0xE0 && c <= 0xEF) {
        unsigned lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
        return at(1) >= lo && at(1) <= hi && cont(2) ? 3 : 0;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        unsigned lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
        return at(1) >= lo && at(1) <= hi && cont(2) && cont(3) ? 4 : 0;
    }
    return 0;
}

class Scanner {
  public:
    explicit Scanner(std::string_view text) : t_(text) {}

    // The string starting at i_ (a '"'); leaves i_ after its closing quote. `escaped` says
    // whether it holds a backslash.
    Problem string(bool &escaped) {
        escaped = false;
        const std::size_t n = t_.size();
        for (++i_; i_ < n;) {
            unsigned char c = static_cast<unsigned char>(t_[i_]);
            if (c == '"') {
                ++i_;
                return {};
            }
            if (c >= 0x20 && c < 0x80 && c != '\\') {
                ++i_;
            } else if (c == '\\') {
                escaped = true;
                if (Problem p = escape())
                    return p;
            } else if (c < 0x20) {
                return fault(Fault::ControlChar);
            } else {
                std::size_t len = utf8_length(t_, i_);
                if (!len)
                    return fault(Fault::Utf8);
                i_ += len;
            }
        }
        return fault(Fault::Unterminated);
    }

    // The escape at i_ (a backslash), with a surrogate pair taken as one.
    Problem escape() {
        std::size_t start = i_;
        if (++i_ == t_.size())
            return fault(Fault::Unterminated);
        char e = t_[i_];
        if (e != 'u') {
            switch (e) {
            case '"':
            case '\\':
            case '/':
            case 'b':
            case 'f':
            case 'n':
            case 'r':
            case 't':
                ++i_;
                return {};
            }
            return fault(Fault::BadEscape);
        }
        long unit = hex4(t_, i_ + 1);
        if (unit < 0)
            return fault(Fault::ShortUnicode);
        i_ += 5;
        if (unit == 0)
            return {Fault::Nul, start};
        if (unit >= 0xDC00 && unit <= 0xDFFF)
            return {Fault::LoneLow, start};
        if (unit >= 0xD800 && unit <= 0xDBFF) {
            long low =
                i_ + 1 < t_.size() && t_[i_] == '\\' && t_[i_ + 1] == 'u' ? hex4(t_, i_ + 2) : -1;
            if (low < 0xDC00 || low > 0xDFFF)
                return {Fault::LoneHigh, start};
            i_ += 6;
        }
        return {};
    }

    // The number at i_ ('-' or a digit); leaves i_ after it.
    Problem number() {
        const std::size_t start = i_;
        if (t_[i_] == '-')
            ++i_;
        if (!digit())
            return fault(Fault::Number);
        const std::size_t int_start = i_;
        if (t_[i_] == '0')
            ++i_;
        else
            while (digit())
                ++i_;
        const std::size_t int_end = i_;
        std::size_t frac_start = i_, frac_end = i_;
        if (i_ < t_.size() && t_[i_] == '.') {
            ++i_;
            if (!digit())
                return fault(Fault::Number);
            frac_start = i_;
            while (digit())
                ++i_;
            frac_end = i_;
        }
        long long exponent = 0;
        if (i_ < t_.size() && (t_[i_] == 'e' || t_[i_] == 'E')) {
            ++i_;
            bool negative = i_ < t_.size() && t_[i_] == '-';
            if (i_ < t_.size() && (t_[i_] == '-' || t_[i_] == '+'))
                ++i_;
            if (!digit())
                return fault(Fault::Number);
            // Saturated: far past any double's range either way.
            while (digit()) {
                if (exponent < 1000000000)
                    exponent = exponent * 10 + (t_[i_] - '0');
                ++i_;
            }
            if (negative)
                exponent = -exponent;
        }
        // "01", "0x1", "1.2.3", "1e5e5": a number goes on where JSON's grammar ends it.
        if (i_ < t_.size() && (digit() || t_[i_] == '.' || t_[i_] == 'e' || t_[i_] == 'E' ||
                               t_[i_] == 'x' || t_[i_] == 'X'))
            return fault(Fault::Number);
        // Finite as a double? The power of ten of the first significant digit says so,
        // except right at the edge (1.79e308 is, 1.8e308 is not), where strtod decides.
        long long lead = 0;
        bool nonzero = false;
        for (std::size_t k = int_start; k < int_end && !nonzero; ++k)
            if (t_[k] != '0') {
                nonzero = true;
                lead = static_cast<long long>(int_end - k) - 1;
            }
        for (std::size_t k = frac_start; k < frac_end && !nonzero; ++k)
            if (t_[k] != '0') {
                nonzero = true;
                lead = -static_cast<long long>(k - frac_start) - 1;
            }
        if (!nonzero)
            return {};
        long long magnitude = lead + exponent;
        if (magnitude < 308)
            return {};
        if (magnitude == 308) {
            std::string copy(t_.substr(start, i_ - start));
            if (std::isfinite(g_ascii_strtod(copy.c_str(), nullptr)))
                return {};
        }
        return {Fault::NumberTooLarge, start};
    }

    // true, false or null at i_.
    Problem literal() {
        for (std::string_view word : {"true", "false", "null"})
            if (t_.substr(i_, word.size()) == word) {
                i_ += word.size();
                return {};
            }
        return fault(Fault::Syntax);
    }

    Problem scan(Member *members, std::size_t count) {
        const std::size_t n = t_.size();
        char stack[kMaxDepth]; // '{' or '[' per open container
        int depth = 0;
        Member *member = nullptr; // the top-level member whose value comes next
        std::size_t value_start = 0;
        skip_ws();
        if (i_ == n || t_[i_] != '{')
            return fault(Fault::NotObject);
        enum class Want { Value, Key, AfterValue } want = Want::Value;
        for (;;) {
            switch (want) {
            case Want::Value: {
                skip_ws();
                if (i_ == n)
                    return fault(Fault::End);
                if (depth == 1)
                    value_start = i_;
                unsigned char c = static_cast<unsigned char>(t_[i_]);
                if (c == '{' || c == '[') {
                    if (depth == kMaxDepth)
                        return fault(Fault::TooDeep);
                    stack[depth++] = char(c);
                    ++i_;
                    skip_ws();
                    if (i_ < n && t_[i_] == (c == '{' ? '}' : ']')) {
                        ++i_;
                        --depth;
                        want = Want::AfterValue;
                    } else {
                        want = c == '{' ? Want::Key : Want::Value;
                    }
                    continue;
                }
                Problem p;
                bool escaped;
                if (c == '"')
                    p = string(escaped);
                else if (c == '-' || is_digit(c))
                    p = number();
                else if (c == '.')
                    p = fault(Fault::Number);
                else
                    p = literal();
                if (p)
                    return p;
                want = Want::AfterValue;
                continue;
            }
            case Want::Key: {
                skip_ws();
                if (i_ == n)
                    return fault(Fault::End);
                if (t_[i_] != '"')
                    return fault(Fault::Syntax);
                std::size_t key_start = i_;
                bool escaped;
                if (Problem p = string(escaped))
                    return p;
                if (depth == 1) {
                    std::string_view key = t_.substr(key_start, i_ - key_start);
                    member = nullptr;
                    for (std::size_t m = 0; m < count && !member; ++m)
                        if (escaped ? string_equals(key, members[m].name)
                                    : key.substr(1, key.size() - 2) == members[m].name)
                            member = &members[m];
                }
                skip_ws();
                if (i_ == n)
                    return fault(Fault::End);
                if (t_[i_] != ':')
                    return fault(Fault::Syntax);
                ++i_;
                want = Want::Value;
                continue;
            }
            case Want::AfterValue:
                if (depth == 1 && member) {
                    member->raw = t_.substr(value_start, i_ - value_start);
                    member = nullptr;
                }
                skip_ws();
                if (depth == 0)
                    return i_ == n ? Problem{} : fault(Fault::Trailing);
                if (i_ == n)
                    return fault(Fault::End);
                char open = stack[depth - 1];
                if (t_[i_] == ',') {
                    ++i_;
                    want = open == '{' ? Want::Key : Want::Value;
                } else if (t_[i_] == (open == '{' ? '}' : ']')) {
                    ++i_;
                    --depth;
                } else {
                    return fault(Fault::Syntax);
                }
                continue;
            }
        }
    }

  private:
    bool digit() const { return i_ < t_.size() && is_digit(static_cast<unsigned char>(t_[i_])); }
    void skip_ws() {
        while (i_ < t_.size() && is_ws(static_cast<unsigned char>(t_[i_])))
            ++i_;
    }
    Problem fault(Fault f) const { return {f, i_}; }

    std::string_view t_;
    std::size_t i_ = 0;
};

// Appends code point `cp` as UTF-8.
void append_utf8(std::string &out, unsigned long cp) {
    char buf[6];
    out.append(buf, std::size_t(g_unichar_to_utf8(gunichar(cp), buf)));
}

} // namespace

std::string Problem::message() const {
    auto where = [this] { return " (byte " + std::to_string(at) + ")"; };
    switch (fault) {
    case Fault::None:
        return {};
    case Fault::Utf8:
        return "message is not valid UTF-8";
    case Fault::ControlChar:
        return "message is not JSON: a control character inside a string";
    case Fault::BadEscape:
        return "message is not JSON: invalid escape in a string";
    case Fault::ShortUnicode:
        return "message is not JSON: \\u needs four hex digits";
    case Fault::Nul:
        return "NUL characters are not allowed";
    case Fault::LoneLow:
        return "message is not JSON: a lone UTF-16 low surrogate";
    case Fault::LoneHigh:
        return "message is not JSON: a UTF-16 high surrogate without its low half";
    case Fault::Unterminated:
        return "message is not JSON: unterminated string";
    case Fault::TooDeep:
        return "message nests too deeply";
    case Fault::Number:
        return "message is not JSON: a number JSON does not allow" + where();
    case Fault::NumberTooLarge:
        return "message is not JSON we can relay: a number too large for a double";
    case Fault::Syntax:
        return "message is not JSON: unexpected character" + where();
    case Fault::End:
        return "message is not JSON: it ends before its object does";
    case Fault::Trailing:
        return "message is not JSON: more after the object" + where();
    case Fault::NotObject:
        return "message must be a JSON object";
    }
    return "message is not JSON";
}

Problem scan_object(std::string_view text, Member *members, std::size_t count) {
    for (std::size_t m = 0; m < count; ++m)
        members[m].raw = {};
    return Scanner(text).scan(members, count);
}

std::string decode_string(std::string_view raw) {
    std::string out;
    if (raw.size() < 2)
        return out;
    std::string_view s = raw.substr(1, raw.size() - 2);
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] != '\\') {
            out += s[i];
            continue;
        }
        char e = i + 1 < s.size() ? s[++i] : '\\';
        switch (e) {
        case 'b':
            out += '\b';
            break;
        case 'f':
            out += '\f';
            break;
        case 'n':
            out += '\n';
            break;
        case 'r':
            out += '\r';
            break;
        case 't':
            out += '\t';
            break;
        case 'u': {
            long unit = hex4(s, i + 1);
            if (unit < 0)
                return out; // not from scan_object
            i += 4;
            unsigned long cp = static_cast<unsigned long>(unit);
            if (unit >= 0xD800 && unit <= 0xDBFF && i + 2 < s.size() && s[i + 1] == '\\' &&
                s[i + 2] == 'u') {
                long low = hex4(s, i + 3);
                if (low >= 0xDC00 && low <= 0xDFFF) {
                    cp = 0x10000 + ((cp - 0xD800) << 10) + static_cast<unsigned long>(low - 0xDC00);
                    i += 6;
                }
            }
            append_utf8(out, cp);
            break;
        }
        default: // '"', '\\', '/'
            out += e;
        }
    }
    return out;
}

bool string_equals(std::string_view raw, std::string_view s) {
    if (raw.size() < 2)
        return false;
    if (raw.find('\\') == std::string_view::npos)
        return raw.substr(1, raw.size() - 2) == s;
    return decode_string(raw) == s;
}

} // namespace duet::proto::json
