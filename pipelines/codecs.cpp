// SPDX-License-Identifier: MIT
// The codec table and the startup probe that proves an encoder by encoding real frames.
#include "pipelines/codecs.h"

#include "common/gst_ref.h"
#include "common/ref.h"
#include "pipelines/debug.h"
#include "pipelines/packages.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>

#define GST_CAT_DEFAULT duet_debug

namespace duet::pipelines {
namespace {

using namespace packages;

// ---- VP8 (libvpx) ----

// libvpx VP8 in real-time mode: higher cpu-used trades a little quality for speed; 8 keeps
// a Raspberry Pi 4 under one core at 640x480@30 while a laptop barely notices it.
constexpr int kVp8CpuUsed = 8;
// Blocks whose difference from the previous frame is below this are sent as unchanged
// without a motion search. 1 skips only blocks that did not change, as browsers' WebRTC
// does for camera video; libvpx's default 0 searches every block. Measured: -15% of the
// encoder's CPU on the test picture.
constexpr int kVp8StaticThreshold = 1;
// Keyframes are expensive bursts; receivers ask for one with PLI and we force one whenever
// a new peer connects, so the periodic safety net can be far apart (100 s at 30 fps). The
// same distance is used for every video encoder.
constexpr int kKeyframeMaxDist = 3000;
// CBR rate-control buffer in milliseconds. libvpx's 4-6 s defaults suit files; a call
// wants the encoder to react within a few frames.
constexpr int kVp8BufferInitialMs = 100;
constexpr int kVp8BufferOptimalMs = 120;
constexpr int kVp8BufferMs = 150;
// A keyframe may take at most this percentage of an average frame's bits (libvpx's default
// is no limit). Under loss the receiver asks for a keyframe about once a round trip, and an
// unbounded one of a busy 640x480 picture is tens of kilobytes: on a 300 kbit/s path the
// video kept leaving at 800 kbit/s for seconds after the target had dropped to 400. Nine
// frames' worth, as browsers allow.
constexpr int kVp8MaxIntraPercent = 900;
// libvpx's VP8 encoder synchronises its row threads with spin-waits. On a 2-core machine with
// other work a second thread mostly spins: at 640x480@30, threads=2 cost twice the CPU of
// threads=1 (perf: ~45% of duet-peer's samples in two `pause` loops in libvpx) for no gain.
// One thread encodes 640x480@30 in real time with cpu-used=8, so pictures get one thread per
// 640x480 of pixels, up to MediaOptions::encoder_threads.
constexpr long kPixelsPerEncoderThread = 640L * 480L;

// ---- Opus ----

// Opus at 48 kbit/s is transparent for speech and fine for music in a call.
constexpr int kOpusBitrate = 48000;
// libopus's effort, 0-10 (opusenc defaults to 10). Browsers' WebRTC uses 5 on phone-class
// CPUs, which is what a kiosk or a Raspberry Pi is; at 48 kbit/s the difference is not
// audible, and opusenc then costs a quarter of its CPU (measured: 2.2% of a core at 10,
// 0.5% at 5, on a 2-core Xeon).
constexpr int kOpusComplexity = 5;
// With DTX on: see opus_complexity.
constexpr int kOpusDtxComplexity = 10;
// 20 ms frames are WebRTC's default packetisation; the test source produces exactly that.
constexpr int kOpusFrameMs = 20;
// In-band FEC (RFC 7587's useinbandfec): each packet carries a coarse copy of the previous
// one, which libopus adds only when told to expect loss. It starts at this figure and then
// follows the loss receivers report (opus_fec_loss_percent), up to the cap: beyond it the
// redundancy would take most of the bitrate from the speech itself.
constexpr int kOpusInitialLossPercent = 5;
constexpr int kOpusMaxLossPercent = 25;

// ---- the encoder probe ----

// Frames each candidate encoder must turn out at startup. A few, because some encoders
// (hardware ones especially) accept the first buffer and fail on the next.
constexpr int kProbeFrames = 5;
// How long an encoder may take for those frames. A software encoder needs milliseconds;
// a hardware one that has not answered by then is not one to hold a call on.
constexpr GstClockTime kProbeTimeout = 5 * GST_SECOND;
// How often the probe looks at its frame count between bus messages.
constexpr GstClockTime kProbePoll = 10 * GST_MSECOND;

std::string num(long v) {
    return std::to_string(v);
}

long bits_per_s(const MediaOptions &o) {
    return long(o.video_kbps) * 1000;
}

int encoder_threads(const MediaOptions &o) {
    long by_size = long(o.width) * long(o.height) / kPixelsPerEncoderThread;
    return int(std::clamp<long>(by_size, 1, std::max(1, o.encoder_threads)));
}

std::string vp8enc(const MediaOptions &o) {
    return "vp8enc deadline=1 cpu-used=" + num(kVp8CpuUsed) +
           " static-threshold=" + num(kVp8StaticThreshold) +
           " end-usage=cbr target-bitrate=" + num(bits_per_s(o)) +
           " keyframe-max-dist=" + num(kKeyframeMaxDist) +
           " error-resilient=default lag-in-frames=0 threads=" + num(encoder_threads(o)) +
           " buffer-initial-size=" + num(kVp8BufferInitialMs) +
           " buffer-optimal-size=" + num(kVp8BufferOptimalMs) + " buffer-size=" + num(kVp8BufferMs) +
           " max-intra-bitrate=" + num(kVp8MaxIntraPercent);
}

// Raspberry Pi (bcm2835-codec, Pi 4 and earlier) through V4L2 stateful encoding. The
// sequence header is repeated so a receiver that joins late can start at any keyframe.
std::string v4l2h264enc(const MediaOptions &o) {
    return "videoconvert ! video/x-raw,format=I420 ! v4l2h264enc "
           "extra-controls=\"controls,repeat_sequence_header=1,video_bitrate=" +
           num(bits_per_s(o)) + ",h264_i_frame_period=" + num(kKeyframeMaxDist) + "\"";
}

// Intel/AMD through VA-API: the newer `va` plugin (gstreamer1.0-plugins-bad), then the
// older gstreamer-vaapi. Both in CBR without B-frames, which WebRTC cannot carry.
std::string vah264enc(const MediaOptions &o) {
    return "videoconvert ! vah264enc rate-control=cbr b-frames=0 bitrate=" + num(o.video_kbps) +
           " key-int-max=" + num(kKeyframeMaxDist);
}

std::string vaapih264enc(const MediaOptions &o) {
    return "videoconvert ! vaapih264enc rate-control=cbr max-bframes=0 bitrate=" +
           num(o.video_kbps) + " keyframe-period=" + num(kKeyframeMaxDist);
}

// NVIDIA NVENC: low-latency preset, CBR, no B-frames.
std::string nvh264enc(const MediaOptions &o) {
    return "videoconvert ! nvh264enc preset=low-latency-hq rc-mode=cbr bframes=0 bitrate=" +
           num(o.video_kbps) + " gop-size=" + num(kKeyframeMaxDist);
}

// Cisco's OpenH264, the encoder browsers themselves use in software. Frame skipping is off:
// a skipped frame looks like a freeze to the far side; the rate controller copes instead.
std::string openh264enc(const MediaOptions &o) {
    return "openh264enc usage-type=camera rate-control=bitrate complexity=low "
           "enable-frame-skip=false bitrate=" +
           num(bits_per_s(o)) + " gop-size=" + num(kKeyframeMaxDist) +
           " multi-thread=" + num(encoder_threads(o));
}

// x264 for real time: zerolatency (no lookahead, no B-frames, sliced threads off here since
// one thread keeps up at these sizes), ultrafast, and a VBV buffer of a few frames so the
// rate stays near the target from one frame to the next.
std::string x264enc(const MediaOptions &o) {
    return "x264enc tune=zerolatency speed-preset=ultrafast bitrate=" + num(o.video_kbps) +
           " vbv-buf-capacity=150 key-int-max=" + num(kKeyframeMaxDist) +
           " threads=" + num(encoder_threads(o));
}

std::string opusenc(const MediaOptions &) {
    return "opusenc bitrate=" + num(kOpusBitrate) + " complexity=" + num(kOpusComplexity) +
           " frame-size=" + num(kOpusFrameMs) +
           " perfect-timestamp=true inband-fec=true "
           "packet-loss-percentage=" +
           num(kOpusInitialLossPercent);
}

std::vector<CodecSpec> make_table() {
    std::vector<CodecSpec> t;
    // 15-bit picture ids let the receiver detect loss across wrap-arounds, as browsers do.
    // request-keyframe sends PLI on loss; wait-for-keyframe keeps garbage out of the decoder
    // and makes a recording start on a keyframe.
    t.push_back(CodecSpec{Codec::VP8,
                          MediaKind::Video,
                          "VP8",
                          90000,
                          "",
                          "video/x-vp8",
                          {{{"vp8enc", kGood}, false, vp8enc, "target-bitrate", 1}},
                          {"rtpvp8pay", kGood},
                          "picture-id-mode=15-bit",
                          {"rtpvp8depay", kGood},
                          "request-keyframe=true wait-for-keyframe=true",
                          {nullptr, nullptr},
                          {{"vp8dec", kGood}},
                          "",
                          {"webmmux", kGood},
                          true});
    // Constrained baseline, level 3.1 (up to 1280x720@30), packetization mode 1 (FU-A):
    // what every browser decodes and what Chromium and Firefox offer first.
    // config-interval=-1 sends SPS/PPS with every keyframe, so a keyframe is all a receiver
    // needs to start; aggregate-mode=zero-latency packs SPS+PPS+IDR into one STAP-A without
    // waiting for more.
    t.push_back(CodecSpec{
        Codec::H264,
        MediaKind::Video,
        "H264",
        90000,
        "profile-level-id=(string)42e01f,packetization-mode=(string)1",
        "video/x-h264,profile=(string)constrained-baseline,stream-format=(string)byte-stream,"
        "alignment=(string)au",
        // v4l2h264enc's rate is one of its extra-controls, which it reads only at start.
        {{{"v4l2h264enc", kGood}, true, v4l2h264enc},
         {{"vah264enc", kBad}, true, vah264enc, "bitrate", 1000},
         {{"vaapih264enc", kVaapi}, true, vaapih264enc, "bitrate", 1000},
         {{"nvh264enc", kBad}, true, nvh264enc, "bitrate", 1000},
         {{"openh264enc", kBad}, false, openh264enc, "bitrate", 1},
         {{"x264enc", kUgly}, false, x264enc, "bitrate", 1000}},
        {"rtph264pay", kGood},
        "config-interval=-1 aggregate-mode=zero-latency",
        {"rtph264depay", kGood},
        "request-keyframe=true wait-for-keyframe=true",
        {"h264parse", kBad},
        {{"avdec_h264", kLibav}, {"openh264dec", kBad}, {"v4l2h264dec", kGood}},
        "",
        {"matroskamux", kGood},
        true});
    // Opus is always "opus/48000/2" in SDP (RFC 7587), whatever is sent; browsers refuse
    // an rtpmap without the 2. useinbandfec=1 asks the far side to add in-band FEC to what
    // it sends us (browsers offer it too), and the decoder uses it to rebuild a lost packet
    // from the next one. The payloader leaves out the 1-byte frames libopus makes in
    // silence when DTX is on (CallPipeline::set_audio_dtx), as DTX means; without DTX
    // there are none.
    t.push_back(CodecSpec{Codec::Opus,
                          MediaKind::Audio,
                          "OPUS",
                          48000,
                          "encoding-params=(string)2,useinbandfec=(string)1",
                          "audio/x-opus",
                          {{{"opusenc", kBase}, false, opusenc}},
                          {"rtpopuspay", kGood},
                          "dtx=true",
                          {"rtpopusdepay", kGood},
                          "",
                          {nullptr, nullptr},
                          {{"opusdec", kBase}},
                          "plc=true use-inband-fec=true",
                          {"webmmux", kGood},
                          false});
    return t;
}

bool element_installed(const char *name) {
    auto f = Ref<GstElementFactory>::adopt(gst_element_factory_find(name));
    return bool(f);
}

// Runs `kProbeFrames` test frames through the encoder and says why it failed, or "".
std::string try_encoder(const CodecSpec &c, const EncoderSpec &e, const MediaOptions &o) {
    if (!element_installed(e.element.element))
        return std::string("not installed (") + e.element.package + ")";
    // No EOS at the end: OpenH264 prints an "Error" while it drains, which would alarm
    // whoever reads the log. The probe stops the pipeline once enough frames came out.
    std::string desc = "videotestsrc ! video/x-raw,format=I420,width=" + num(o.width) +
                       ",height=" + num(o.height) + ",framerate=" + num(o.fps) + "/1 ! " +
                       e.launch(o) + " ! " + c.encoded_caps + " ! fakesink name=out";
    GErr err;
    auto pipeline = Ref<GstElement>::adopt(
        gst_parse_launch_full(desc.c_str(), nullptr, GST_PARSE_FLAG_FATAL_ERRORS, err.out()));
    if (!pipeline)
        return std::string("does not take our settings: ") + err.message();
    auto out = Ref<GstElement>::adopt(gst_bin_get_by_name(GST_BIN(pipeline.get()), "out"));
    auto pad = Ref<GstPad>::adopt(gst_element_get_static_pad(out.get(), "sink"));
    std::atomic<int> frames{0};
    gst_pad_add_probe(
        pad.get(), GST_PAD_PROBE_TYPE_BUFFER,
        [](GstPad *, GstPadProbeInfo *, gpointer n) -> GstPadProbeReturn {
            static_cast<std::atomic<int> *>(n)->fetch_add(1);
            return GST_PAD_PROBE_OK;
        },
        &frames, nullptr);
    std::string why;
    if (gst_element_set_state(pipeline.get(), GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE)
        why = "did not start";
    auto bus = Ref<GstBus>::adopt(gst_element_get_bus(pipeline.get()));
    gint64 deadline = g_get_monotonic_time() + gint64(kProbeTimeout / GST_USECOND);
    while (why.empty() && frames.load() < kProbeFrames) {
        if (g_get_monotonic_time() >= deadline) {
            why = "no frames within " + num(long(kProbeTimeout / GST_SECOND)) + " s";
            break;
        }
        auto msg = Ref<GstMessage>::adopt(
            gst_bus_timed_pop_filtered(bus.get(), kProbePoll, GST_MESSAGE_ERROR));
        if (msg) {
            GErr e;
            gst_message_parse_error(msg.get(), e.out(), nullptr);
            why = std::string("failed: ") + e.message();
        }
    }
    gst_element_set_state(pipeline.get(), GST_STATE_NULL);
    if (why.empty() && frames.load() == 0)
        why = "produced no frames";
    return why;
}

} // namespace

int opus_fec_loss_percent(double fraction_lost) {
    if (!(fraction_lost > 0)) // NaN too
        return 0;
    return int(std::clamp<long>(std::lround(fraction_lost * 100), 0, kOpusMaxLossPercent));
}

bool opus_dtx_wanted(const std::vector<bool> &asks) {
    return !asks.empty() && std::all_of(asks.begin(), asks.end(), [](bool b) { return b; });
}

int opus_complexity(bool dtx) {
    return dtx ? kOpusDtxComplexity : kOpusComplexity;
}

int video_fec_percent(double fraction_lost) {
    // Below half a percent the receiver's smoothing still holds an old loss: no FEC.
    if (!(fraction_lost >= 0.005)) // NaN too
        return 0;
    return int(std::clamp<long>(std::lround(fraction_lost * 200), 1, kMaxVideoFecPercent));
}

int media_kbps_with_fec(int total_kbps, int fec_percent) {
    int p = std::clamp(fec_percent, 0, 100);
    return std::max(1, int(std::lround(double(total_kbps) * 100 / (100 + p))));
}

bool set_encoder_bitrate(GstElement *encoder, const EncoderSpec &e, int kbps) {
    if (!encoder || !e.bitrate_property || kbps <= 0)
        return false;
    GParamSpec *spec =
        g_object_class_find_property(G_OBJECT_GET_CLASS(encoder), e.bitrate_property);
    if (!spec)
        return false;
    long value = std::max(1L, long(kbps) * 1000 / std::max(1, e.bitrate_unit_bps));
    GValue v = G_VALUE_INIT;
    g_value_init(&v, G_TYPE_LONG);
    g_value_set_long(&v, value);
    GValue converted = G_VALUE_INIT;
    g_value_init(&converted, spec->value_type);
    bool ok = g_value_transform(&v, &converted);
    if (ok)
        g_object_set_property(G_OBJECT(encoder), e.bitrate_property, &converted);
    g_value_unset(&v);
    g_value_unset(&converted);
    return ok;
}

bool is_video_encoder(const std::string &element) {
    for (const CodecSpec *c : video_codecs())
        for (const auto &e : c->encoders)
            if (element == e.element.element)
                return true;
    return false;
}

std::string video_encoder_names() {
    std::string out;
    for (const CodecSpec *c : video_codecs())
        for (const auto &e : c->encoders)
            out += (out.empty() ? "" : ", ") + std::string(e.element.element);
    return out;
}

const std::vector<CodecSpec> &all_codecs() {
    static const std::vector<CodecSpec> table = make_table();
    return table;
}

const CodecSpec &codec_spec(Codec c) {
    for (const auto &spec : all_codecs())
        if (spec.id == c)
            return spec;
    std::abort(); // every Codec value has an entry; a missing one is a programming error
}

std::vector<const CodecSpec *> video_codecs() {
    std::vector<const CodecSpec *> out;
    for (const auto &spec : all_codecs())
        if (spec.kind == MediaKind::Video)
            out.push_back(&spec);
    return out;
}

const CodecSpec *find_codec(MediaKind kind, const std::string &encoding_name) {
    for (const auto &spec : all_codecs())
        if (spec.kind == kind && g_ascii_strcasecmp(spec.encoding_name, encoding_name.c_str()) == 0)
            return &spec;
    return nullptr;
}

std::string rtp_caps_basic(const CodecSpec &c, unsigned pt) {
    return std::string("application/x-rtp,media=") + media_kind_name(c.kind) +
           ",encoding-name=" + c.encoding_name + ",clock-rate=" + num(c.clock_rate) +
           ",payload=" + num(pt);
}

std::string rtp_caps(const CodecSpec &c, unsigned pt) {
    std::string caps = rtp_caps_basic(c, pt);
    if (*c.sdp_fields)
        caps += std::string(",") + c.sdp_fields;
    return caps;
}

const PackagedElement *installed_decoder(const CodecSpec &c) {
    for (const auto &d : c.decoders)
        if (element_installed(d.element))
            return &d;
    return nullptr;
}

bool h264_constrained_baseline(const std::string &plid) {
    if (plid.size() != 6 || !g_ascii_isxdigit(plid[0]))
        return false;
    for (char ch : plid)
        if (!g_ascii_isxdigit(ch))
            return false;
    unsigned long v = std::strtoul(plid.c_str(), nullptr, 16);
    unsigned profile_idc = unsigned(v >> 16) & 0xff;
    unsigned iop = unsigned(v >> 8) & 0xff;
    // profile_idc 66 (baseline) with constraint_set1 is constrained baseline; so is main
    // (77) with constraint_set0 and set1 (RFC 6184, table 5).
    return (profile_idc == 0x42 && (iop & 0x40)) || (profile_idc == 0x4d && (iop & 0xc0) == 0xc0);
}

const ChosenEncoder *EncoderChoices::find(Codec c) const {
    for (const auto &v : video)
        if (v.codec->id == c)
            return &v;
    return nullptr;
}

const ChosenEncoder *EncoderChoices::hardware() const {
    for (const auto &v : video)
        if (v.encoder->hardware)
            return &v;
    return nullptr;
}

const EncoderSpec *first_working_encoder(const CodecSpec &c, const MediaOptions &opts,
                                         std::string *refused) {
    for (const auto &e : c.encoders) {
        if (!opts.video_encoder.empty() && opts.video_encoder != e.element.element)
            continue;
        std::string why = try_encoder(c, e, opts);
        if (why.empty())
            return &e;
        *refused += std::string(refused->empty() ? "" : "; ") + e.element.element + " " + why;
    }
    return nullptr;
}

// Loads the plugins of `c`'s payloader, depayloader, parser and decoder now, on the
// calling thread, so the first call in that codec does not wait for them. Not in the
// DTLS warm-up thread: loading a plugin (libav's above all) while another thread builds
// elements tripped a GLib hash table "modified during iteration" check in the sanitizer
// build, where two PeerApps share a process.
static void preload(const CodecSpec &c) {
    const PackagedElement *decoder = installed_decoder(c);
    for (const char *name : {c.payloader.element, c.depayloader.element, c.parser.element,
                             decoder ? decoder->element : nullptr})
        if (name)
            auto made = Ref<GstElement>::adopt(gst_element_factory_make(name, nullptr));
}

EncoderChoices probe_encoders(const std::vector<Codec> &wanted, const MediaOptions &opts) {
    EncoderChoices out;
    preload(codec_spec(Codec::Opus));
    for (const CodecSpec *c : video_codecs()) {
        if (std::find(wanted.begin(), wanted.end(), c->id) == wanted.end())
            continue;
        if (!installed_decoder(*c)) {
            g_message("%s: no decoder installed (%s in %s), so we will not negotiate it",
                      c->encoding_name, c->decoders.front().element, c->decoders.front().package);
            continue;
        }
        std::string refused;
        const EncoderSpec *e = first_working_encoder(*c, opts, &refused);
        if (e) {
            out.video.push_back(ChosenEncoder{c, e});
            preload(*c);
        }
        if (e)
            g_message("%s: encoding with %s (%s)%s%s", c->encoding_name, e->element.element,
                      e->hardware ? "hardware" : "software",
                      refused.empty() ? "" : "; passed over: ", refused.c_str());
        else if (opts.video_encoder.empty() || !refused.empty())
            g_message("%s: no working encoder, so we will not send it (%s)", c->encoding_name,
                      refused.c_str());
    }
    return out;
}

} // namespace duet::pipelines
