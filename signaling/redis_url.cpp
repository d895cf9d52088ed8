// SPDX-License-Identifier: MIT
// Where Redis is: parsing redis:// and unix: URLs (signaling/redis_client.h), and the same
// URL with its password hidden for logs.
#include "redis_client.h"

#include <climits>

namespace duet::signaling::redis {

namespace {

constexpr std::string_view kForms = "redis://[[USER]:PASSWORD@]HOST[:PORT][/DB] or "
                                    "unix:PATH[?db=N&password=P]";

Error bad(const std::string &what) {
    return fail("Redis URL: " + what);
}

bool starts_with_nocase(std::string_view s, std::string_view prefix) {
    return s.size() >= prefix.size() &&
           g_ascii_strncasecmp(s.data(), prefix.data(), prefix.size()) == 0;
}

// A whole number of digits only, up to `max`; -1 otherwise.
long long parse_number(std::string_view s, long long max) {
    if (s.empty() || s.size() > 10)
        return -1;
    long long v = 0;
    for (char c : s) {
        if (!g_ascii_isdigit(c))
            return -1;
        v = v * 10 + (c - '0');
    }
    return v <= max ? v : -1;
}

// %XX escapes (any byte, NUL included: AUTH is binary-safe); a lone or malformed '%'
// is an error rather than a guess.
Result<std::string> percent_decode(std::string_view s, const char *what) {
    std::string out;
    out.reserve(s.size());
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] != '%') {
            out += s[i];
            continue;
        }
        bool room = i + 2 < s.size();
        int hi = room ? g_ascii_xdigit_value(s[i + 1]) : -1;
        int lo = room ? g_ascii_xdigit_value(s[i + 2]) : -1;
        if (hi < 0 || lo < 0)
            return bad(std::string("bad percent-encoding in the ") + what +
                       " (a '%' must be followed by two hex digits)");
        out += char(hi * 16 + lo);
        i += 2;
    }
    return out;
}

std::string percent_encode(std::string_view s) {
    static const char hex[] = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : s) {
        if (g_ascii_isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
            out += char(c);
        } else {
            out += '%';
            out += hex[c >> 4];
            out += hex[c & 15];
        }
    }
    return out;
}

Result<int> parse_db(std::string_view s) {
    long long db = parse_number(s, INT_MAX);
    if (db < 0)
        return bad("bad database number '" + std::string(s) + "' (a whole number, 0 and up)");
    return int(db);
}

// A host name or IPv4 address: letters, digits, '-', '.', '_' (no spaces, no '/').
bool plain_host(std::string_view h) {
    for (char c : h)
        if (!g_ascii_isalnum(c) && c != '-' && c != '.' && c != '_')
            return false;
    return true;
}

Result<Url> parse_unix(std::string_view rest) {
    Url url;
    url.is_unix = true;
    // unix:///run/redis.sock is accepted as unix:/run/redis.sock.
    if (rest.substr(0, 3) == "///")
        rest.remove_prefix(2);
    size_t q = rest.find('?');
    url.path = std::string(rest.substr(0, q));
    if (url.path.empty())
        return bad("no socket path after unix: (" + std::string(kForms) + ")");
    std::string_view query = q == std::string_view::npos ? "" : rest.substr(q + 1);
    while (!query.empty()) {
        size_t amp = query.find('&');
        std::string_view pair = query.substr(0, amp);
        query = amp == std::string_view::npos ? "" : query.substr(amp + 1);
        if (pair.empty())
            continue;
        size_t eq = pair.find('=');
        std::string_view key = pair.substr(0, eq);
        std::string_view value = eq == std::string_view::npos ? "" : pair.substr(eq + 1);
        if (key == "db") {
            auto db = parse_db(value);
            if (!db)
                return db.error();
            url.db = db.value();
        } else if (key == "password" || key == "user") {
            auto v = percent_decode(value, key == "user" ? "user" : "password");
            if (!v)
                return v.error();
            (key == "user" ? url.user : url.password) = std::move(v.value());
        } else {
            return bad("unknown parameter '" + std::string(key) +
                       "' after unix:PATH? (db, password and user are known)");
        }
    }
    if (!url.user.empty() && url.password.empty())
        return bad("a user needs a password");
    return url;
}

Result<Url> parse_tcp(std::string_view rest) {
    Url url;
    size_t end = rest.find_first_of("/?#");
    std::string_view authority = rest.substr(0, end);
    std::string_view tail = end == std::string_view::npos ? "" : rest.substr(end);

    // The last '@' ends the user part, so a password may hold a raw '@'.
    size_t at = authority.rfind('@');
    if (at != std::string_view::npos) {
        std::string_view userinfo = authority.substr(0, at);
        authority.remove_prefix(at + 1);
        size_t colon = userinfo.find(':');
        if (colon == std::string_view::npos)
            return bad("the part before '@' needs a ':' before the password, as in "
                       "redis://:PASSWORD@HOST or redis://USER:PASSWORD@HOST");
        auto user = percent_decode(userinfo.substr(0, colon), "user");
        if (!user)
            return user.error();
        auto password = percent_decode(userinfo.substr(colon + 1), "password");
        if (!password)
            return password.error();
        url.user = std::move(user.value());
        url.password = std::move(password.value());
        if (!url.user.empty() && url.password.empty())
            return bad("a user needs a password");
    }

    std::string_view port;
    if (!authority.empty() && authority[0] == '[') {
        size_t close = authority.find(']');
        if (close == std::string_view::npos)
            return bad("'[' without ']' around the IPv6 address");
        url.host = std::string(authority.substr(1, close - 1));
        std::string_view after = authority.substr(close + 1);
        if (!after.empty() && after[0] != ':')
            return bad("unexpected '" + std::string(after) + "' after the IPv6 address");
        if (!after.empty())
            port = after.substr(1);
        if (url.host.empty())
            return bad("empty IPv6 address in []");
        if (!g_hostname_is_ip_address(url.host.c_str()) || url.host.find(':') == std::string::npos)
            return bad("'" + url.host + "' in [] is not an IPv6 address");
        if (!after.empty() && port.empty())
            return bad("no port after ':'");
    } else {
        size_t colon = authority.find(':');
        if (colon != std::string_view::npos &&
            authority.find(':', colon + 1) != std::string_view::npos)
            return bad("an IPv6 address goes in brackets, as in redis://[::1]:6379");
        url.host = std::string(authority.substr(0, colon));
        if (colon != std::string_view::npos) {
            port = authority.substr(colon + 1);
            if (port.empty())
                return bad("no port after ':'");
        }
        if (url.host.empty())
            return bad("no host (" + std::string(kForms) + ")");
        if (!plain_host(url.host))
            return bad("bad host name '" + url.host + "'");
    }
    if (!port.empty()) {
        long long p = parse_number(port, 65535);
        if (p < 1)
            return bad("bad port '" + std::string(port) + "' (1..65535)");
        url.port = int(p);
    }

    if (!tail.empty() && tail[0] != '/')
        return bad("unexpected '" + std::string(tail) + "' after the host (" + std::string(kForms) +
                   ")");
    if (tail.size() > 1) {
        auto db = parse_db(tail.substr(1));
        if (!db)
            return db.error();
        url.db = db.value();
    }
    return url;
}

} // namespace

Result<Url> parse_url(std::string_view text) {
    if (starts_with_nocase(text, "redis://"))
        return parse_tcp(text.substr(8));
    if (starts_with_nocase(text, "unix:"))
        return parse_unix(text.substr(5));
    if (starts_with_nocase(text, "rediss://"))
        return bad("rediss:// (Redis over TLS) is not supported; use redis:// on a trusted "
                   "network or unix:PATH");
    size_t scheme_end = text.find("://");
    if (scheme_end != std::string_view::npos)
        return bad("unknown scheme '" + std::string(text.substr(0, scheme_end)) + "' (" +
                   std::string(kForms) + ")");
    return bad("expected " + std::string(kForms));
}

std::string Url::redacted() const {
    std::string out;
    if (is_unix) {
        out = "unix:" + path;
        char sep = '?';
        if (db != 0) {
            out += sep + std::string("db=") + std::to_string(db);
            sep = '&';
        }
        if (!user.empty()) {
            out += sep + std::string("user=") + percent_encode(user);
            sep = '&';
        }
        if (!password.empty())
            out += sep + std::string("password=***");
        return out;
    }
    out = "redis://";
    if (!password.empty())
        out += percent_encode(user) + ":***@";
    out += host.find(':') != std::string::npos ? "[" + host + "]" : host;
    out += ":" + std::to_string(port);
    if (db != 0)
        out += "/" + std::to_string(db);
    return out;
}

} // namespace duet::signaling::redis
