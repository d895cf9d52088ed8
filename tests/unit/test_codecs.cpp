// SPDX-License-Identifier: MIT
// The codec table, the encoder probe, SDP reading and the codec decisions of offers and
// answers.
#include "pipelines/codec_choice.h"
#include "pipelines/codecs.h"
#include "pipelines/launch.h"
#include "pipelines/receive_branch.h"
#include "pipelines/sdp_util.h"
#include "pipelines/webrtcbin_setup.h"
#include "tests/check_str.h"
#include "tests/unit/parsed_pipeline.h"

#include <gst/gst.h>
#include <gst/sdp/sdp.h>

#include <cmath>
#include <string>
#include <vector>

using namespace duet::pipelines;
using namespace duet::test;

namespace {

// Shaped like Chromium's offer: audio first, Opus at 111 with RED, then video with VP8 and
// its RTX, H.264 in high profile and in constrained baseline (mode 0 and mode 1), and AV1.
const char *kChromiumOffer =
    "v=0\r\n"
    "o=- 4611731400430051336 2 IN IP4 127.0.0.1\r\n"
    "s=-\r\n"
    "t=0 0\r\n"
    "a=group:BUNDLE 0 1\r\n"
    "m=audio 9 UDP/TLS/RTP/SAVPF 111 63\r\n"
    "a=mid:0\r\n"
    "a=rtpmap:111 opus/48000/2\r\n"
    "a=rtcp-fb:111 transport-cc\r\n"
    "a=fmtp:111 minptime=10;useinbandfec=1\r\n"
    "a=rtpmap:63 red/48000/2\r\n"
    "m=video 9 UDP/TLS/RTP/SAVPF 96 97 100 102 127 45\r\n"
    "a=mid:1\r\n"
    "a=rtpmap:96 VP8/90000\r\n"
    "a=rtcp-fb:96 nack\r\n"
    "a=rtcp-fb:96 nack pli\r\n"
    "a=rtpmap:97 rtx/90000\r\n"
    "a=fmtp:97 apt=96\r\n"
    "a=rtpmap:100 H264/90000\r\n"
    "a=fmtp:100 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=640c1f\r\n"
    "a=rtpmap:102 H264/90000\r\n"
    "a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=42e01f\r\n"
    "a=rtpmap:127 H264/90000\r\n"
    "a=rtcp-fb:127 nack\r\n"
    "a=fmtp:127 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f\r\n"
    "a=rtpmap:45 AV1/90000\r\n";

// The same codecs with H.264 first, as Safari orders them.
std::string h264_first_offer() {
    std::string s = kChromiumOffer;
    auto at = s.find("96 97 100 102 127 45");
    s.replace(at, 20, "127 96 97 100 102 45");
    return s;
}

const char *kFirefoxH264Only = "v=0\r\n"
                               "o=mozilla...THIS_IS_SDPARTA-115.0 1 0 IN IP4 0.0.0.0\r\n"
                               "s=-\r\n"
                               "t=0 0\r\n"
                               "m=video 9 UDP/TLS/RTP/SAVPF 126\r\n"
                               "a=mid:0\r\n"
                               "a=rtpmap:126 H264/90000\r\n"
                               "a=fmtp:126 profile-level-id=42e01f;packetization-mode=1\r\n"
                               "m=audio 9 UDP/TLS/RTP/SAVPF 109\r\n"
                               "a=mid:1\r\n"
                               "a=rtpmap:109 opus/48000/2\r\n";

SdpSummary parsed(const std::string &text) {
    auto r = parse_sdp(text);
    if (!r)
        g_error("does not parse: %s", r.message().c_str());
    return r.value();
}

// What the startup probe would find on a machine with software encoders for both codecs,
// and optionally a hardware H.264 one.
EncoderChoices encoders(bool h264 = true, bool h264_hardware = false) {
    EncoderChoices e;
    const CodecSpec &vp8 = codec_spec(Codec::VP8);
    e.video.push_back(ChosenEncoder{&vp8, &vp8.encoders.front()});
    if (h264) {
        const CodecSpec &c = codec_spec(Codec::H264);
        for (const auto &enc : c.encoders)
            if (enc.hardware == h264_hardware) {
                e.video.push_back(ChosenEncoder{&c, &enc});
                break;
            }
    }
    return e;
}

void test_table() {
    // Every codec names its elements and the Debian package behind each.
    for (const auto &c : all_codecs()) {
        g_assert_nonnull(c.encoding_name);
        g_assert_false(c.encoders.empty());
        g_assert_false(c.decoders.empty());
        for (const PackagedElement &e : {c.payloader, c.depayloader, c.record_muxer})
            g_assert_true(e.element && e.package && g_str_has_prefix(e.package, "gstreamer1.0-"));
    }
    g_assert_true(find_codec(MediaKind::Video, "h264") == &codec_spec(Codec::H264));
    g_assert_true(find_codec(MediaKind::Audio, "opus") == &codec_spec(Codec::Opus));
    g_assert_null(find_codec(MediaKind::Audio, "VP8"));
    g_assert_null(find_codec(MediaKind::Video, "AV1"));
    // Hardware H.264 encoders come before software ones.
    const auto &h264 = codec_spec(Codec::H264).encoders;
    g_assert_true(h264.front().hardware);
    g_assert_false(h264.back().hardware);
    // Recording: WebM for VP8, Matroska for H.264.
    check_str_eq(codec_spec(Codec::VP8).record_muxer.element, "webmmux");
    check_str_eq(codec_spec(Codec::H264).record_muxer.element, "matroskamux");
}

void test_rtp_caps_carry_fmtp() {
    CapsFields c(rtp_caps(codec_spec(Codec::H264), 127));
    check_rtp_caps(c, "video", "H264", 90000, 127);
    check_str_eq(c.string("profile-level-id"), "42e01f");
    check_str_eq(c.string("packetization-mode"), "1");
    CapsFields opus(rtp_caps(codec_spec(Codec::Opus), 111));
    check_str_eq(opus.string("encoding-params"), "2"); // opus/48000/2, or browsers refuse it
    auto caps = [](const char *s) { return gst_caps_from_string(s); };
    GstCaps *h = caps("application/x-rtp,media=video,encoding-name=H264");
    GstCaps *o = caps("application/x-rtp,media=audio,encoding-name=opus");
    GstCaps *x = caps("application/x-rtp,media=video,encoding-name=AV1");
    g_assert_true(rtp_codec(h) == &codec_spec(Codec::H264));
    g_assert_true(rtp_codec(o) == &codec_spec(Codec::Opus));
    g_assert_null(rtp_codec(x));
    g_assert_null(rtp_codec(nullptr));
    gst_caps_unref(h);
    gst_caps_unref(o);
    gst_caps_unref(x);
}

void test_constrained_baseline() {
    g_assert_true(h264_constrained_baseline("42e01f"));
    g_assert_true(h264_constrained_baseline("42C01F"));
    g_assert_true(h264_constrained_baseline("4dc01f")); // main with set0+set1 is CB too
    g_assert_false(h264_constrained_baseline("42001f")); // baseline without constraint_set1
    g_assert_false(h264_constrained_baseline("640c1f")); // high
    g_assert_false(h264_constrained_baseline("4d001f")); // main
    g_assert_false(h264_constrained_baseline(""));
    g_assert_false(h264_constrained_baseline("42e01"));
    g_assert_false(h264_constrained_baseline("zz e0 1f"));
}

void test_h264_send_branch() {
    EncoderChoices e = encoders();
    const ChosenEncoder *h = e.find(Codec::H264);
    GstElementFactory *f = h ? gst_element_factory_find(h->encoder->element.element) : nullptr;
    if (f)
        gst_object_unref(f);
    if (!f) {
        g_test_skip("no software H.264 encoder installed (gstreamer1.0-plugins-bad's openh264enc)");
        return;
    }
    MediaOptions o;
    o.video_kbps = 700;
    Parsed v(video_payload_description(VideoPlan{h->codec, h->encoder, 127, true}, o));
    // The software encoder at the asked bitrate, its output held to constrained baseline.
    GstElement *enc = v.one(h->encoder->element.element);
    if (g_str_equal(h->encoder->element.element, "openh264enc")) {
        g_assert_cmpint(int_prop(enc, "bitrate"), ==, 700000);
        g_assert_cmpint(int_prop(enc, "gop-size"), ==, 3000);
        g_assert_false(bool_prop(enc, "enable-frame-skip"));
    }
    CapsFields profile(downstream(enc));
    check_str_eq(profile.media_type(), "video/x-h264");
    check_str_eq(profile.string("profile"), "constrained-baseline");
    check_str_eq(profile.string("stream-format"), "byte-stream");
    GstElement *pay = v.one("rtph264pay");
    g_assert_cmpint(int_prop(pay, "pt"), ==, 127);
    g_assert_cmpint(int_prop(pay, "config-interval"), ==, -1); // SPS/PPS with every keyframe
    check_str_eq(enum_prop(pay, "aggregate-mode"), "zero-latency");
    CapsFields rtp(downstream(pay));
    check_rtp_caps(rtp, "video", "H264", 90000, 127);
    // The level follows what the encoder made (a hardware one may say 4.0); the SDP's
    // fields are webrtcbin's codec preferences, not a filter on the stream.
    g_assert_cmpint(gst_structure_n_fields(rtp.s), ==, 4);
}

void test_h264_receive_branch() {
    const CodecSpec &h264 = codec_spec(Codec::H264);
    const PackagedElement *dec = installed_decoder(h264);
    if (!dec) {
        g_test_skip("no H.264 decoder installed (gstreamer1.0-libav or openh264dec)");
        return;
    }
    ResolvedMedia m;
    Parsed v(receive_description(h264, *dec, m, true));
    GstElement *depay = v.one("rtph264depay");
    g_assert_true(bool_prop(depay, "request-keyframe"));
    g_assert_true(bool_prop(depay, "wait-for-keyframe"));
    // Parsed before the tap, so the recorder's Matroska gets whole access units.
    GstElement *parse = downstream(depay);
    check_str_eq(factory(parse), "h264parse");
    check_str_eq(name(downstream(parse)), "record_tee");
    check_str_eq(factory(v.named(kDecoderName)), dec->element);
}

void test_probe_falls_back() {
    // An encoder that exists but cannot work (here: caps it cannot take) is passed over, and
    // the reason is kept; the next one is proven by encoding frames.
    CodecSpec vp8 = codec_spec(Codec::VP8);
    // Parses, starts, then fails on the second frame, as some hardware encoders do.
    auto broken = +[](const MediaOptions &) { return std::string("vp8enc ! identity error-after=2"); };
    auto unknown = +[](const MediaOptions &) { return std::string("vp8enc no-such-setting=1"); };
    vp8.encoders = {{{"no-such-encoder", "gstreamer1.0-nowhere"}, true, unknown},
                    {{"vp8enc", "gstreamer1.0-plugins-good"}, true, unknown},
                    {{"vp8enc", "gstreamer1.0-plugins-good"}, true, broken},
                    codec_spec(Codec::VP8).encoders.front()};
    MediaOptions o;
    o.width = 160;
    o.height = 120;
    std::string refused;
    const EncoderSpec *e = first_working_encoder(vp8, o, &refused);
    g_assert_true(e == &vp8.encoders[3]);
    g_assert_true(has(refused, "no-such-encoder not installed (gstreamer1.0-nowhere)"));
    g_assert_true(has(refused, "does not take our settings"));
    g_test_message("refused: %s", refused.c_str());
    g_assert_true(has(refused, "vp8enc failed:"));
    // None left: null, with every reason.
    vp8.encoders.pop_back();
    refused.clear();
    g_assert_null(first_working_encoder(vp8, o, &refused));
}

void test_probe_on_this_machine() {
    MediaOptions o;
    o.width = 160;
    o.height = 120;
    EncoderChoices e = probe_encoders({Codec::VP8, Codec::H264}, o);
    const ChosenEncoder *vp8 = e.find(Codec::VP8);
    g_assert_nonnull(vp8);
    check_str_eq(vp8->encoder->element.element, "vp8enc");
    // scripts/setup.sh installs openh264enc (plugins-bad) and x264enc (plugins-ugly).
    const ChosenEncoder *h264 = e.find(Codec::H264);
    g_assert_nonnull(h264);
    g_test_message("H.264 encoder here: %s", h264->encoder->element.element);
    // Only VP8 asked for: only VP8 probed.
    g_assert_null(probe_encoders({Codec::VP8}, o).find(Codec::H264));
}

void test_parse_offer() {
    SdpSummary s = parsed(kChromiumOffer);
    g_assert_true(s.author == SdpAuthor::Chromium);
    g_assert_cmpuint(s.media.size(), ==, 2);
    check_str_eq(s.media[0].kind, "audio");
    check_str_eq(s.media[0].mid, "0");
    const SdpMedia *v = s.first("video");
    g_assert_nonnull(v);
    check_str_eq(v->mid, "1");
    g_assert_cmpuint(v->formats.size(), ==, 6);
    check_str_eq(v->formats[0].encoding, "VP8");
    g_assert_cmpuint(v->formats[0].pt, ==, 96);
    g_assert_true(v->formats[0].nack);
    g_assert_false(v->formats[2].nack);
    check_str_eq(v->formats[4].profile_level_id, "42e01f");
    check_str_eq(v->formats[4].packetization_mode, "1");
    auto names = v->codec_names();
    std::vector<std::string> want{"VP8", "H264", "AV1"}; // rtx left out, each once
    g_assert_true(names == want);
    check_str_eq(parsed(kFirefoxH264Only).media[0].kind, "video");
    g_assert_true(parsed(kFirefoxH264Only).author == SdpAuthor::Firefox);
    auto mids = media_mids(s);
    g_assert_cmpuint(mids.size(), ==, 2);
    check_str_eq(mids[1], "1");
    // Not SDP, or SDP without media: an error, never a crash.
    g_assert_false(parse_sdp("").ok());
    g_assert_false(parse_sdp("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n").ok());
    g_assert_true(parse_sdp("v=0\nm=video 9 X 300 abc\na=rtpmap:300 VP8/90000\n").ok());
    // A rejected m-line (port 0) is not "the" video.
    std::string rejected = kFirefoxH264Only;
    rejected.replace(rejected.find("m=video 9"), 9, "m=video 0");
    g_assert_null(parsed(rejected).first("video"));
}

// Chromium's offer with RED and ULPFEC on the video and usedtx=1 on Opus (Chromium writes
// usedtx only when the page asks for it; this is a page that did).
std::string fec_dtx_offer() {
    std::string s = kChromiumOffer;
    s.replace(s.find("96 97 100 102 127 45"), 20, "96 97 100 102 127 45 123 122 125");
    s.replace(s.find("minptime=10;useinbandfec=1"), 26, "minptime=10;useinbandfec=1;usedtx=1");
    s += "a=rtpmap:123 red/90000\r\n"
         "a=rtpmap:122 rtx/90000\r\n"
         "a=fmtp:122 apt=123\r\n"
         "a=rtpmap:125 ulpfec/90000\r\n";
    return s;
}

void test_sdp_fec_and_dtx() {
    SdpSummary with = parsed(fec_dtx_offer());
    const SdpMedia *v = with.first("video");
    g_assert_true(v->has_red_ulpfec());
    g_assert_cmpuint(*v->pt_of("red"), ==, 123);
    g_assert_cmpuint(*v->pt_of("ULPFEC"), ==, 125);
    std::vector<std::string> want{"VP8", "H264", "AV1"}; // repair formats carry no picture
    g_assert_true(v->codec_names() == want);
    g_assert_true(with.first("audio")->formats[0].usedtx);
    // Chromium's default offer: RED for audio (Opus redundancy) is no video FEC, and Opus
    // without usedtx does not ask for DTX.
    SdpSummary plain = parsed(kChromiumOffer);
    g_assert_false(plain.first("video")->has_red_ulpfec());
    g_assert_false(plain.first("video")->pt_of("red").has_value());
    g_assert_false(plain.first("audio")->formats[0].usedtx);
    // RED alone (no ULPFEC) is not FEC; usedtx=0 is no request.
    std::string red_only = fec_dtx_offer();
    red_only.replace(red_only.find("a=rtpmap:125 ulpfec/90000"), 25,
                     "a=rtpmap:125 flexfec-03/90000");
    red_only.replace(red_only.find("usedtx=1"), 8, "usedtx=0");
    SdpSummary r = parsed(red_only);
    g_assert_false(r.first("video")->has_red_ulpfec());
    g_assert_false(r.first("audio")->formats[0].usedtx);
}

// FEC follows the loss the receiver reports: none without loss, capped, and the encoder's
// share of the target leaves room for it.
void test_video_fec_percent() {
    g_assert_cmpint(video_fec_percent(0), ==, 0);
    g_assert_cmpint(video_fec_percent(0.004), ==, 0);
    g_assert_cmpint(video_fec_percent(-1), ==, 0);
    g_assert_cmpint(video_fec_percent(std::nan("")), ==, 0);
    g_assert_cmpint(video_fec_percent(0.01), ==, 2);
    g_assert_cmpint(video_fec_percent(0.05), ==, 10);
    g_assert_cmpint(video_fec_percent(0.2), ==, 40);
    g_assert_cmpint(video_fec_percent(0.5), ==, kMaxVideoFecPercent);
    g_assert_cmpint(video_fec_percent(1), ==, kMaxVideoFecPercent);
    g_assert_cmpint(media_kbps_with_fec(800, 0), ==, 800);
    g_assert_cmpint(media_kbps_with_fec(800, 25), ==, 640);
    g_assert_cmpint(media_kbps_with_fec(300, 50), ==, 200);
    g_assert_cmpint(media_kbps_with_fec(1, 50), ==, 1);
}

// One Opus encoder serves every call: DTX only while every call asked for it.
void test_opus_dtx_decision() {
    g_assert_false(opus_dtx_wanted({}));
    g_assert_true(opus_dtx_wanted({true}));
    g_assert_true(opus_dtx_wanted({true, true}));
    g_assert_false(opus_dtx_wanted({true, false})); // one that did not joined
    g_assert_false(opus_dtx_wanted({false}));
    g_assert_cmpint(opus_complexity(true), ==, 10); // libopus's analysis, which DTX needs
    g_assert_cmpint(opus_complexity(false), <, 10);
}

void test_answer_codecs() {
    // auto: the offer's first codec we can send, with the offer's payload type.
    LegPlan p = plan_answer(parsed(kChromiumOffer), VideoCodecPref::Auto, encoders());
    g_assert_true(p.video && p.video->codec->id == Codec::VP8);
    g_assert_cmpuint(p.video->pt, ==, 96);
    g_assert_true(p.video->nack);
    g_assert_true(p.audio && p.audio->pt == 111);
    g_assert_false(p.audio->nack); // audio is never NACKed
    p = plan_answer(parsed(h264_first_offer()), VideoCodecPref::Auto, encoders());
    g_assert_true(p.video && p.video->codec->id == Codec::H264);
    g_assert_cmpuint(p.video->pt, ==, 127); // not 100 (high) nor 102 (mode 0)
    // auto prefers a hardware-encoded codec even where the offer lists it later.
    p = plan_answer(parsed(kChromiumOffer), VideoCodecPref::Auto, encoders(true, true));
    g_assert_true(p.video && p.video->codec->id == Codec::H264 && p.video->encoder->hardware);
    // Forced codecs.
    p = plan_answer(parsed(kChromiumOffer), VideoCodecPref::H264, encoders());
    g_assert_true(p.video && p.video->codec->id == Codec::H264 && p.video->pt == 127);
    p = plan_answer(parsed(h264_first_offer()), VideoCodecPref::VP8, encoders());
    g_assert_true(p.video && p.video->codec->id == Codec::VP8 && p.video->pt == 96);
    // Nothing in common: no video (the answer rejects it) and the offered codecs, for the
    // event; the audio goes on.
    p = plan_answer(parsed(kFirefoxH264Only), VideoCodecPref::VP8, encoders());
    g_assert_false(p.video.has_value());
    g_assert_true(p.refused_video == std::vector<std::string>{"H264"});
    g_assert_true(p.audio && p.audio->pt == 109);
    // H.264 offered but no H.264 encoder here: not taken either.
    p = plan_answer(parsed(kFirefoxH264Only), VideoCodecPref::Auto, encoders(false));
    g_assert_false(p.video.has_value());
}

// Transport-wide congestion control: the answer uses the offer's extension id (Chromium
// writes 3, Firefox 7), and none when the offer has none or one a one-byte header cannot
// carry; our own offers use kTwccExtensionId.
void test_twcc_extension_id() {
    auto with_extmap = [](const std::string &video_line, const std::string &audio_line) {
        std::string s = kChromiumOffer;
        s.insert(s.find("a=rtpmap:96 VP8"), video_line);
        s.insert(s.find("a=rtpmap:111 opus"), audio_line);
        return s;
    };
    const std::string uri = kTwccUri;
    LegPlan p =
        plan_answer(parsed(with_extmap("a=extmap:7 " + uri + "\r\n", "a=extmap:3 " + uri + "\r\n")),
                    VideoCodecPref::Auto, encoders());
    g_assert_true(p.video && p.audio);
    g_assert_cmpuint(p.video->twcc_ext, ==, 7);
    g_assert_cmpuint(p.audio->twcc_ext, ==, 3);
    // A direction after the id, and other extensions around it.
    p = plan_answer(
        parsed(with_extmap(
            "a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid\r\n"
            "a=extmap:5/sendrecv " +
                uri + "\r\n",
            "a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time\r\n")),
        VideoCodecPref::Auto, encoders());
    g_assert_cmpuint(p.video->twcc_ext, ==, 5);
    g_assert_cmpuint(p.audio->twcc_ext, ==, 0);
    // Not offered; an id only a two-byte header carries; nonsense.
    p = plan_answer(parsed(kChromiumOffer), VideoCodecPref::Auto, encoders());
    g_assert_cmpuint(p.video->twcc_ext, ==, 0);
    g_assert_cmpuint(p.audio->twcc_ext, ==, 0);
    p = plan_answer(
        parsed(with_extmap("a=extmap:200 " + uri + "\r\n", "a=extmap:x " + uri + "\r\n")),
        VideoCodecPref::Auto, encoders());
    g_assert_cmpuint(p.video->twcc_ext, ==, 0);
    g_assert_cmpuint(p.audio->twcc_ext, ==, 0);
    p = plan_answer(parsed(with_extmap("a=extmap:3 " + uri + "-not\r\n", "a=extmap:3\r\n")),
                    VideoCodecPref::Auto, encoders());
    g_assert_cmpuint(p.video->twcc_ext, ==, 0);
    g_assert_cmpuint(p.audio->twcc_ext, ==, 0);
    auto o = plan_offer(VideoCodecPref::Auto, encoders());
    g_assert_true(o.ok());
    g_assert_cmpuint(o.value().video->twcc_ext, ==, kTwccExtensionId);
    g_assert_cmpuint(o.value().audio->twcc_ext, ==, kTwccExtensionId);
}

void test_offer_codecs() {
    auto p = plan_offer(VideoCodecPref::Auto, encoders());
    g_assert_true(p && p.value().video->codec->id == Codec::VP8);
    g_assert_cmpuint(p.value().video->pt, ==, kVideoPayloadType);
    g_assert_cmpuint(p.value().audio->pt, ==, kAudioPayloadType);
    p = plan_offer(VideoCodecPref::Auto, encoders(true, true));
    g_assert_true(p && p.value().video->codec->id == Codec::H264);
    p = plan_offer(VideoCodecPref::H264, encoders());
    g_assert_true(p && p.value().video->codec->id == Codec::H264);
    p = plan_offer(VideoCodecPref::H264, encoders(false));
    g_assert_false(p.ok());
    g_assert_true(has(p.message(), "--video-codec h264"));
}

GstSDPMessage *sdp_of(const std::string &text) {
    GstSDPMessage *m = nullptr;
    gst_sdp_message_new_from_text(text.c_str(), &m);
    g_assert_nonnull(m);
    return m;
}

void test_sdp_for_wire() {
    // webrtcbin's max-bundle offers put later m-lines on port 0 with bundle-only.
    GstSDPMessage *m = sdp_of("v=0\r\no=- 1 0 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"
                              "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:audio0\r\n"
                              "m=video 0 UDP/TLS/RTP/SAVPF 96\r\na=bundle-only\r\na=mid:video1\r\n");
    std::string wire = sdp_for_wire(m);
    g_assert_false(has(wire, "bundle-only"));
    g_assert_true(has(wire, "m=video 9 UDP/TLS/RTP/SAVPF 96"));
    g_assert_true(has(wire, "a=mid:video1"));
    gst_sdp_message_free(m);
    // An offer leaves out what only describes our encoder's output; an answer keeps it.
    m = sdp_of("v=0\r\no=- 1 0 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"
               "m=video 9 UDP/TLS/RTP/SAVPF 96 97\r\na=mid:video0\r\na=framerate:15\r\n"
               "a=rtpmap:96 H264/90000\r\n"
               "a=fmtp:96 profile-level-id=42e01f;sprop-parameter-sets=Z0LAH4yN,aM48gA==;"
               "packetization-mode=1\r\na=rtpmap:97 rtx/90000\r\na=fmtp:97 apt=96\r\n");
    std::string offer = sdp_for_wire(m, true);
    g_assert_false(has(offer, "sprop-parameter-sets"));
    g_assert_false(has(offer, "framerate"));
    g_assert_true(has(offer, "a=fmtp:96 profile-level-id=42e01f;packetization-mode=1\r\n"));
    g_assert_true(has(offer, "a=fmtp:97 apt=96\r\n"));
    std::string answer = sdp_for_wire(m, false);
    g_assert_true(has(answer, "sprop-parameter-sets=Z0LAH4yN,aM48gA=="));
    g_assert_true(has(answer, "a=framerate:15"));
    gst_sdp_message_free(m);
}

void test_tidy_rejected_media() {
    GstSDPMessage *m = sdp_of("v=0\r\no=- 1 0 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"
                              "m=video 0 UDP/TLS/RTP/SAVPF 126\r\na=mid:0\r\n"
                              "a=fingerprint:sha-256 AA:BB\r\na=ice-ufrag:theirs\r\n"
                              "a=sendrecv\r\n"
                              "m=audio 9 UDP/TLS/RTP/SAVPF 109\r\na=mid:1\r\n"
                              "a=fingerprint:sha-256 CC:DD\r\na=ice-ufrag:ours\r\n"
                              "a=setup:active\r\na=sendrecv\r\n");
    tidy_rejected_media(m);
    const GstSDPMedia *video = gst_sdp_message_get_media(m, 0);
    check_str_eq(gst_sdp_media_get_attribute_val(video, "fingerprint"), "sha-256 CC:DD");
    check_str_eq(gst_sdp_media_get_attribute_val(video, "ice-ufrag"), "ours");
    g_assert_null(gst_sdp_media_get_attribute_val(video, "sendrecv"));
    g_assert_nonnull(gst_sdp_media_get_attribute_val(video, "inactive"));
    const GstSDPMedia *audio = gst_sdp_message_get_media(m, 1);
    g_assert_nonnull(gst_sdp_media_get_attribute_val(audio, "sendrecv"));
    // The result still prints and parses (a NULL attribute value would crash gstsdp).
    gchar *text = gst_sdp_message_as_text(m);
    g_assert_true(has(text, "a=inactive\r\n"));
    g_assert_true(parse_sdp(text).ok());
    g_free(text);
    gst_sdp_message_free(m);
}

void test_mdns_advice() {
    g_assert_true(has(mdns_advice(SdpAuthor::Firefox), "obfuscate_host_addresses"));
    g_assert_false(has(mdns_advice(SdpAuthor::Firefox), "Chromium"));
    g_assert_true(has(mdns_advice(SdpAuthor::Chromium), "WebRtcHideLocalIpsWithMdns"));
    g_assert_false(has(mdns_advice(SdpAuthor::Chromium), "about:config"));
    std::string unknown = mdns_advice(SdpAuthor::Unknown);
    g_assert_true(has(unknown, "Chromium") && has(unknown, "Firefox"));
}

} // namespace

int main(int argc, char **argv) {
    g_test_init(&argc, &argv, nullptr);
    gst_init(nullptr, nullptr);
    g_test_add_func("/codecs/table", test_table);
    g_test_add_func("/codecs/rtp-caps", test_rtp_caps_carry_fmtp);
    g_test_add_func("/codecs/h264-constrained-baseline", test_constrained_baseline);
    g_test_add_func("/codecs/h264-send-branch", test_h264_send_branch);
    g_test_add_func("/codecs/h264-receive-branch", test_h264_receive_branch);
    g_test_add_func("/codecs/probe-falls-back", test_probe_falls_back);
    g_test_add_func("/codecs/probe-here", test_probe_on_this_machine);
    g_test_add_func("/codecs/sdp/parse", test_parse_offer);
    g_test_add_func("/codecs/sdp/for-wire", test_sdp_for_wire);
    g_test_add_func("/codecs/sdp/tidy-rejected", test_tidy_rejected_media);
    g_test_add_func("/codecs/sdp/mdns-advice", test_mdns_advice);
    g_test_add_func("/codecs/sdp/fec-and-dtx", test_sdp_fec_and_dtx);
    g_test_add_func("/codecs/fec/video-percent", test_video_fec_percent);
    g_test_add_func("/codecs/opus/dtx-decision", test_opus_dtx_decision);
    g_test_add_func("/codecs/plan/answer", test_answer_codecs);
    g_test_add_func("/codecs/plan/offer", test_offer_codecs);
    g_test_add_func("/codecs/plan/twcc-extension", test_twcc_extension_id);
    return g_test_run();
}
