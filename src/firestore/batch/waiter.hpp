// Private: the place a queued call's result arrives (auto-batching). The batch's coroutine sets
// it from its own executor; the caller awaits it from its own. Thread-safe.
#pragma once

#include "connpool/core/result.hpp"

#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <utility>

namespace connpool::firestore::detail {

template <class T>
class Waiter {
 public:
  /// The result, once: later calls are ignored (a caller cancelled before its batch answered
  /// keeps its `cancelled`). Resumes the awaiting coroutine on its executor. Any thread.
  void set(Result<T> result) {
    std::unique_ptr<Resumer> resumer;
    {
      std::lock_guard lock(mu_);
      if (set_) return;
      set_ = true;
      if (!resumer_) {
        result_.emplace(std::move(result));
        return;
      }
      resumer = std::move(resumer_);
    }
    Resumer::resume(std::move(resumer), std::move(result));
  }

  /// Awaits the result. Asio per-operation cancellation of the awaiting coroutine runs
  /// `on_cancel` (on the coroutine's executor), which should set() an error.
  boost::asio::awaitable<Result<T>> wait(std::function<void()> on_cancel) {
    auto initiation = [this](auto handler, std::function<void()> cancel) {
      auto slot = boost::asio::get_associated_cancellation_slot(handler);
      if (slot.is_connected()) {
        slot.assign([cancel = std::move(cancel)](boost::asio::cancellation_type type) {
          if (type != boost::asio::cancellation_type::none) cancel();
        });
      }
      auto resumer = std::make_unique<ResumerOf<decltype(handler)>>(std::move(handler));
      std::optional<Result<T>> ready;
      {
        std::lock_guard lock(mu_);
        if (result_) {
          ready = std::move(result_);
        } else {
          resumer_ = std::move(resumer);
        }
      }
      if (ready) Resumer::resume(std::move(resumer), std::move(*ready));
    };
    return boost::asio::async_initiate<const boost::asio::use_awaitable_t<>&, void(Result<T>)>(
        initiation, boost::asio::use_awaitable, std::move(on_cancel));
  }

 private:
  /// The awaiting coroutine's handler, type-erased, with a work guard on its executor.
  struct Resumer {
    virtual ~Resumer() = default;
    virtual void post(Result<T> result) && = 0;
    static void resume(std::unique_ptr<Resumer> r, Result<T> result) {
      Resumer& self = *r;
      std::move(self).post(std::move(result));
    }
  };
  template <class Handler>
  struct ResumerOf final : Resumer {
    explicit ResumerOf(Handler&& h)
        : handler(std::move(h)), work(boost::asio::make_work_guard(handler)) {}
    void post(Result<T> result) && override {
      auto ex = work.get_executor();
      // On the coroutine's executor: clear the cancellation hook (only there may it be touched,
      // as a cancellation is emitted there too), then resume.
      boost::asio::post(ex, [h = std::move(handler), result = std::move(result)]() mutable {
        auto s = boost::asio::get_associated_cancellation_slot(h);
        if (s.is_connected()) s.clear();
        std::move(h)(std::move(result));
      });
      work.reset();
    }
    Handler handler;
    decltype(boost::asio::make_work_guard(std::declval<Handler&>())) work;
  };

  std::mutex mu_;
  bool set_ = false;
  std::optional<Result<T>> result_;   // set before the caller awaited
  std::unique_ptr<Resumer> resumer_;  // the caller awaits
};

}  // namespace connpool::firestore::detail
