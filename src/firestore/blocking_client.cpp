// BlockingClient: each call runs the coroutine on the pool's executor and waits for its result.
// No gRPC headers here: this file only forwards to Client.
#include "connpool/firestore/client.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_future.hpp>

namespace connpool::firestore {
namespace {

template <class T>
Result<T> wait(const Client& client, Task<T> task) {
  return boost::asio::co_spawn(client.pool().executor(), std::move(task), boost::asio::use_future)
      .get();
}

}  // namespace

Result<std::optional<Document>> BlockingClient::get_document(std::string collection,
                                                             std::string id) {
  return wait(client_, Client(client_).get_document(std::move(collection), std::move(id)));
}
Result<std::optional<Document>> BlockingClient::get_document_at(std::string path) {
  return wait(client_, Client(client_).get_document_at(std::move(path)));
}
Result<WriteResult> BlockingClient::create_document(std::string collection, std::string id,
                                                    Map fields) {
  return wait(client_, Client(client_).create_document(std::move(collection), std::move(id),
                                                       std::move(fields)));
}
Result<WriteResult> BlockingClient::set_document(std::string collection, std::string id, Map fields,
                                                 SetOptions options) {
  return wait(client_, Client(client_).set_document(std::move(collection), std::move(id),
                                                    std::move(fields), std::move(options)));
}
Result<WriteResult> BlockingClient::update_document(std::string collection, std::string id,
                                                    Map field_values, Precondition precondition,
                                                    std::vector<std::string> deletes) {
  return wait(client_, Client(client_).update_document(std::move(collection), std::move(id),
                                                       std::move(field_values), precondition,
                                                       std::move(deletes)));
}
Result<void> BlockingClient::delete_document(std::string collection, std::string id,
                                             Precondition precondition) {
  return wait(client_,
              Client(client_).delete_document(std::move(collection), std::move(id), precondition));
}
Result<WriteResult> BlockingClient::transform_document(std::string collection, std::string id,
                                                       std::vector<FieldTransform> transforms) {
  return wait(client_, Client(client_).transform_document(std::move(collection), std::move(id),
                                                          std::move(transforms)));
}
Result<std::vector<std::optional<Document>>> BlockingClient::batch_get(
    std::vector<std::string> paths) {
  return wait(client_, Client(client_).batch_get(std::move(paths)));
}
Result<std::vector<WriteResult>> BlockingClient::commit(std::vector<Write> writes) {
  return wait(client_, Client(client_).commit(std::move(writes)));
}
Result<std::vector<Document>> BlockingClient::query_documents(std::string collection,
                                                              std::vector<Filter> filters,
                                                              std::vector<OrderBy> order_by,
                                                              std::optional<std::int32_t> limit) {
  return wait(client_, Client(client_).query_documents(std::move(collection), std::move(filters),
                                                       std::move(order_by), limit));
}
Result<std::vector<Document>> BlockingClient::run_query(Query query) {
  return wait(client_, Client(client_).run_query(std::move(query)));
}
Result<AggregationResult> BlockingClient::aggregate(Query query,
                                                    std::vector<Aggregation> aggregations) {
  return wait(client_, Client(client_).aggregate(std::move(query), std::move(aggregations)));
}
Result<std::int64_t> BlockingClient::count(Query query) {
  return wait(client_, Client(client_).count(std::move(query)));
}
Result<DocumentPage> BlockingClient::list_documents(std::string collection, std::int32_t page_size,
                                                    std::string page_token) {
  return wait(client_, Client(client_).list_documents(std::move(collection), page_size,
                                                      std::move(page_token)));
}
Result<std::vector<std::string>> BlockingClient::list_collection_ids(std::string parent_document) {
  return wait(client_, Client(client_).list_collection_ids(std::move(parent_document)));
}
Result<void> BlockingClient::run_transaction(Client::TransactionFunction fn) {
  return wait(client_, Client(client_).run_transaction(std::move(fn)));
}

}  // namespace connpool::firestore
