// A Subscriber's connection attempt: the shared transport plus the pub/sub write queue.
#include "subscriber_impl.hpp"

namespace connpool::redis::detail {

PubSubSession::PubSubSession(const asio::strand<asio::any_io_executor>& strand, const RedisUrl& url,
                             std::shared_ptr<asio::ssl::context> tls, std::uint64_t id_)
    : link(strand, url, std::move(tls)), id(id_) {}

void PubSubSession::close() noexcept {
  closed = true;
  link.close();
}

}  // namespace connpool::redis::detail
