// Asking the Sentinels in order, keeping the connection of the one that answered.
#include "sentinel_asker.hpp"

#include <boost/asio/this_coro.hpp>

namespace connpool::redis::detail {

namespace asio = boost::asio;

asio::awaitable<SentinelAsker::Outcome> SentinelAsker::ask(std::span<const std::string_view> args,
                                                           Judge judge) {
  auto executor = co_await asio::this_coro::executor;
  Outcome out;
  std::string kept_said_no;  // the kept connection's Sentinel answered: not asked twice
  // The kept connection first, then every Sentinel in order.
  for (std::size_t i = 0; i <= url_.sentinels.size(); ++i) {
    std::shared_ptr<Connection> conn;
    std::string where;
    if (i == 0) {
      std::lock_guard lock(mu_);
      if (!kept_ || kept_->broken()) continue;
      conn = kept_;
      where = conn->url().endpoint();
    } else {
      const auto& s = url_.sentinels[i - 1];
      const RedisUrl sentinel = url_.sentinel_url(s);
      where = sentinel.endpoint();
      if (where == kept_said_no) continue;
      auto opened = co_await Connection::connect(executor, sentinel);
      if (!opened) {
        out.said += "; " + where + ": " + opened.error().to_string();
        continue;
      }
      conn = std::shared_ptr<Connection>(std::move(*opened));
    }
    auto reply = co_await conn->execute(args);
    if (!reply) {
      out.said += "; " + where + ": " + reply.error().to_string();
      continue;
    }
    out.answered = true;
    const std::string why_not = judge(*reply);
    if (why_not.empty()) {
      if (i > 0) {
        std::lock_guard lock(mu_);
        if (kept_) kept_->close();
        kept_ = closed_ ? nullptr : conn;
        if (closed_) conn->close();
      }
      out.accepted = std::move(*reply);
      break;
    }
    if (i > 0) conn->close();
    if (i == 0) kept_said_no = where;
    out.said += "; " + where + ": " + why_not;
  }
  if (!out.said.empty()) out.said = out.said.substr(2);
  co_return out;
}

void SentinelAsker::close() noexcept {
  closed_ = true;
  std::lock_guard lock(mu_);
  if (kept_) kept_->close();
  kept_ = nullptr;
}

}  // namespace connpool::redis::detail
