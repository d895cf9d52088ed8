// SPDX-License-Identifier: MIT
// Records the remote side's video and Opus, as received, into one WebM or Matroska file.
#pragma once

#include "common/main_thread.h"
#include "common/ref.h"
#include "common/result.h"
#include "pipelines/codecs.h"
#include "pipelines/media_options.h"

#include <gst/gst.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace duet::pipelines {

// One file holds one call: the first remote stream of each kind claims its input and the
// file is finalised when that call ends (or at exit). Later calls are not recorded: WebM
// cannot take new tracks, nor a second stream in a track, once writing has started.
//
// All methods run on the main thread.
class Recorder {
  public:
    // `muxer`: from the codec table, one that holds every codec a leg may use.
    static Result<std::unique_ptr<Recorder>> create(GstBin *pipeline, const std::string &path,
                                                    const PackagedElement &muxer);
    ~Recorder();
    Recorder(const Recorder &) = delete;
    Recorder &operator=(const Recorder &) = delete;

    // True while no stream of this kind has been recorded yet.
    bool wants(MediaKind kind) const;
    // Links `src` (depayloaded VP8 or Opus) to the input of that kind.
    bool attach(MediaKind kind, GstPad *src);
    // The stream from `src` is ending (its call is over): unlink it and end that track.
    void detach(GstPad *src);
    // Ends every track; `done` runs (from the main loop) once the file is complete.
    void finish(std::function<void()> done);
    bool finalized() const { return finalized_; }
    const std::string &path() const { return path_; }

  private:
    struct Input {
        MediaKind kind;
        Ref<GstPad> sink;    // the recorder bin's ghost pad
        Ref<GstPad> mux_pad; // the muxer's request pad
        Ref<GstElement> queue;
        Ref<GstPad> linked; // peer src pad while attached
        bool claimed = false;
        bool ended = false;
    };
    Recorder() = default;
    Input *input(MediaKind kind);
    void end_input(Input &in);
    void on_file_eos();
    void maybe_done();

    GstBin *pipeline_ = nullptr; // borrowed: the CallPipeline's, which owns us
    Ref<GstElement> bin_;
    Ref<GstElement> mux_;
    std::string path_;
    std::vector<Input> inputs_;
    std::vector<std::function<void()>> waiting_;
    bool finalized_ = false;
    // Where completion callbacks run; the file-EOS report is dropped once we are gone.
    Lifeline lifeline_;
};

} // namespace duet::pipelines
