#pragma once
// The frames a WebSocket session has yet to write, bounded.
//
// Why: a session has one writer (a WebSocket allows one write at a time), so
// replies and events wait here. Replies are always kept: their number is
// bounded by the session's limit on commands in flight. Events are refused
// once the queue holds too many frames or bytes: a subscriber that cannot
// keep up is dropped rather than letting memory grow without bound.
// Frames are shared, so one event published to many sessions is stored once.
// Owned by its session; touched only on the event loop.

#include <cstddef>
#include <deque>
#include <memory>
#include <string>

namespace idunno::net::console {

using Frame = std::shared_ptr<const std::string>;

class OutgoingQueue {
 public:
  OutgoingQueue(std::size_t max_frames, std::size_t max_bytes) : max_frames_(max_frames), max_bytes_(max_bytes) {}

  void push_reply(Frame frame) {
    bytes_ += frame->size();
    frames_.push_back(std::move(frame));
  }

  // False (and the frame not queued) when the queue is full.
  bool push_event(Frame frame) {
    if (frames_.size() >= max_frames_ || bytes_ + frame->size() > max_bytes_) return false;
    bytes_ += frame->size();
    frames_.push_back(std::move(frame));
    return true;
  }

  bool empty() const { return frames_.empty(); }
  std::size_t size() const { return frames_.size(); }
  std::size_t bytes() const { return bytes_; }

  // Precondition: !empty().
  Frame pop() {
    Frame frame = std::move(frames_.front());
    frames_.pop_front();
    bytes_ -= frame->size();
    return frame;
  }

 private:
  std::size_t max_frames_;
  std::size_t max_bytes_;
  std::size_t bytes_ = 0;
  std::deque<Frame> frames_;
};

}  // namespace idunno::net::console
