// SPDX-License-Identifier: MIT
// SDP read through GStreamer's parser; candidate lines read field by field. Never trusts
// the input: anything missing is simply absent from the result.
#include "pipelines/sdp_util.h"

#include "common/gst_ref.h"

#include <gst/sdp/sdp.h>

#include <algorithm>
#include <cstring>
#include <sstream>

namespace duet::pipelines {
namespace {

bool is_repair_format(const std::string &encoding) {
    for (const char *r : {"rtx", "red", "ulpfec", "flexfec-03"})
        if (g_ascii_strcasecmp(encoding.c_str(), r) == 0)
            return true;
    return false;
}

std::string field(const GstStructure *s, const char *name) {
    const char *v = gst_structure_get_string(s, name);
    return v ? v : "";
}

// One parameter of the `a=fmtp:PT k=v;k=v` attribute for `pt`, as written. (GStreamer's
// caps from the SDP turn H.264's profile-level-id into a profile name and drop the level.)
std::string fmtp_param(const GstSDPMedia *m, unsigned pt, const char *key) {
    const std::string prefix = std::to_string(pt) + " ";
    for (guint i = 0;; ++i) {
        const char *v = gst_sdp_media_get_attribute_val_n(m, "fmtp", i);
        if (!v)
            return {};
        if (!g_str_has_prefix(v, prefix.c_str()))
            continue;
        Owned<gchar *> params(g_strsplit(v + prefix.size(), ";", -1));
        for (gchar **p = params.get(); *p; ++p) {
            gchar *kv = g_strstrip(*p);
            const char *eq = std::strchr(kv, '=');
            if (eq && std::string(kv, std::size_t(eq - kv)) == key)
                return eq + 1;
        }
        return {};
    }
}

std::optional<SdpFormat> read_format(const GstSDPMedia *m, unsigned pt) {
    auto caps = Ref<GstCaps>::adopt(gst_sdp_media_get_caps_from_media(m, gint(pt)));
    if (!caps || gst_caps_get_size(caps.get()) == 0)
        return std::nullopt;
    const GstStructure *s = gst_caps_get_structure(caps.get(), 0);
    SdpFormat f;
    f.pt = pt;
    f.encoding = field(s, "encoding-name");
    if (f.encoding.empty())
        return std::nullopt;
    gst_structure_get_int(s, "clock-rate", &f.clock_rate);
    f.profile_level_id = fmtp_param(m, pt, "profile-level-id");
    f.packetization_mode = fmtp_param(m, pt, "packetization-mode");
    gboolean nack = FALSE;
    f.nack = gst_structure_get_boolean(s, "rtcp-fb-nack", &nack) && nack;
    f.usedtx = fmtp_param(m, pt, "usedtx") == "1";
    return f;
}

// `a=extmap:<id>[/<direction>] <uri> [<attributes>]` (RFC 8285) naming kTwccUri.
unsigned twcc_extension(const GstSDPMedia *m) {
    for (guint i = 0;; ++i) {
        const char *v = gst_sdp_media_get_attribute_val_n(m, "extmap", i);
        if (!v)
            return 0;
        char *end = nullptr;
        unsigned long id = std::strtoul(v, &end, 10);
        if (end == v || (*end != ' ' && *end != '/'))
            continue;
        const char *uri = std::strchr(end, ' ');
        if (!uri)
            continue;
        while (*uri == ' ')
            ++uri;
        std::size_t len = std::strcspn(uri, " ");
        if (len == std::strlen(kTwccUri) && std::strncmp(uri, kTwccUri, len) == 0)
            return id >= 1 && id <= 14 ? unsigned(id) : 0;
    }
}

SdpMedia read_media(const GstSDPMedia *m) {
    SdpMedia out;
    out.kind = gst_sdp_media_get_media(m) ? gst_sdp_media_get_media(m) : "";
    out.port = gst_sdp_media_get_port(m);
    const char *mid = gst_sdp_media_get_attribute_val(m, "mid");
    out.mid = mid ? mid : "";
    out.bundle_only = gst_sdp_media_get_attribute_val(m, "bundle-only") != nullptr;
    for (guint i = 0; i < gst_sdp_media_formats_len(m); ++i) {
        const char *fmt = gst_sdp_media_get_format(m, i);
        char *end = nullptr;
        unsigned long pt = fmt ? std::strtoul(fmt, &end, 10) : 0;
        // Payload types are 0..127 (RFC 3550); anything else is not RTP we can use.
        if (!fmt || end == fmt || *end || pt > 127)
            continue;
        if (auto f = read_format(m, unsigned(pt)))
            out.formats.push_back(std::move(*f));
    }
    out.twcc_ext = twcc_extension(m);
    return out;
}

SdpAuthor author_of(const GstSDPMessage *msg) {
    const GstSDPOrigin *o = gst_sdp_message_get_origin(msg);
    std::string user = o && o->username ? o->username : "";
    std::string addr = o && o->addr ? o->addr : "";
    if (user.find("mozilla") != std::string::npos)
        return SdpAuthor::Firefox; // "mozilla...THIS_IS_SDPARTA-<version>"
    if (user == "-" && addr == "127.0.0.1")
        return SdpAuthor::Chromium; // libwebrtc: Chromium, Edge, Safari
    if (user == "-" && addr == "0.0.0.0")
        return SdpAuthor::GStreamer; // webrtcbin
    return SdpAuthor::Unknown;
}

} // namespace

std::vector<std::string> SdpMedia::codec_names() const {
    std::vector<std::string> out;
    for (const auto &f : formats) {
        if (is_repair_format(f.encoding))
            continue;
        gchar *up = g_ascii_strup(f.encoding.c_str(), -1);
        std::string name = up;
        g_free(up);
        if (std::find(out.begin(), out.end(), name) == out.end())
            out.push_back(std::move(name));
    }
    return out;
}

std::optional<unsigned> SdpMedia::pt_of(const char *encoding) const {
    for (const auto &f : formats)
        if (g_ascii_strcasecmp(f.encoding.c_str(), encoding) == 0)
            return f.pt;
    return std::nullopt;
}

const SdpMedia *SdpSummary::first(const std::string &kind) const {
    for (const auto &m : media)
        if (m.kind == kind && (m.port != 0 || m.bundle_only))
            return &m;
    return nullptr;
}

Result<SdpSummary> parse_sdp(const std::string &text) {
    if (text.empty())
        return fail("empty"); // gst_sdp_message_parse_buffer asserts on size 0
    GstSDPMessage *raw = nullptr;
    gst_sdp_message_new(&raw);
    Owned<GstSDPMessage> msg(raw);
    if (gst_sdp_message_parse_buffer(reinterpret_cast<const guint8 *>(text.data()),
                                     guint(text.size()), msg.get()) != GST_SDP_OK)
        return fail("not SDP");
    if (gst_sdp_message_medias_len(msg.get()) == 0)
        return fail("SDP without media");
    return summarize_sdp(msg.get());
}

SdpSummary summarize_sdp(const GstSDPMessage *sdp) {
    SdpSummary out;
    out.author = author_of(sdp);
    for (guint i = 0; i < gst_sdp_message_medias_len(sdp); ++i)
        out.media.push_back(read_media(gst_sdp_message_get_media(sdp, i)));
    return out;
}

std::vector<std::string> media_mids(const SdpSummary &sdp) {
    std::vector<std::string> out;
    for (const auto &m : sdp.media)
        out.push_back(m.mid);
    return out;
}

std::string candidate_address(const std::string &candidate) {
    // candidate:<foundation> <component> <transport> <priority> <address> <port> typ ...
    std::istringstream in(candidate);
    std::string field;
    for (int i = 0; i < 5; ++i)
        if (!(in >> field))
            return {};
    return field;
}

bool is_mdns_candidate(const std::string &candidate) {
    std::string addr = candidate_address(candidate);
    return addr.size() > 6 && g_str_has_suffix(addr.c_str(), ".local");
}

std::string with_address(const std::string &candidate, const std::string &address) {
    std::istringstream in(candidate);
    std::vector<std::string> fields;
    std::string f;
    while (in >> f)
        fields.push_back(f);
    if (fields.size() < 5)
        return candidate;
    fields[4] = address;
    std::string out;
    for (const auto &x : fields)
        out += (out.empty() ? "" : " ") + x;
    return out;
}

std::string mdns_advice(SdpAuthor author) {
    const char *chromium = "start Chromium with --disable-features=WebRtcHideLocalIpsWithMdns";
    const char *firefox =
        "set media.peerconnection.ice.obfuscate_host_addresses to false in Firefox's "
        "about:config";
    const char *always = "; or install avahi-daemon and libnss-mdns here so .local names "
                         "resolve, or give both sides a STUN server";
    switch (author) {
    case SdpAuthor::Firefox:
        return std::string(firefox) + always;
    case SdpAuthor::Chromium:
        return std::string(chromium) + always;
    default:
        return std::string("in Chromium: ") + chromium + "; in Firefox: " + firefox + always;
    }
}

} // namespace duet::pipelines
