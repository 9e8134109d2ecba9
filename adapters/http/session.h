// One HTTP/1.1 connection (internal to adapters/http): reads requests under
// the header/body deadlines and size limits, answers them in order, keeps
// the connection alive, and while a generation runs keeps a read pending so
// that a client that hangs up cancels its jobs at once.
#pragma once
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <deque>
#include <memory>
#include <optional>
#include <string>

#include "adapters/http/generation.h"
#include "adapters/http/server_core.h"

namespace loom::http {

namespace beast = boost::beast;

class Session : public Sink, public std::enable_shared_from_this<Session> {
 public:
  Session(HttpServer::Core& core, net::ip::tcp::socket socket);
  void start() { read_header(core_.options.header_timeout); }
  void write(std::string bytes) override;
  void response_done() override;

 private:
  void read_header(std::chrono::milliseconds deadline);
  void on_header(beast::error_code ec);
  void on_body(beast::error_code ec);
  void handle();
  void refuse_and_close(int status, const std::string& message);
  void watch();
  void on_watch(beast::error_code ec, size_t n);
  void do_write();
  void on_write(beast::error_code ec);
  void after_response();
  void linger_close();
  void drain_then_close();
  void close();

  HttpServer::Core& core_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<beast::http::request_parser<beast::http::string_body>> parser_;
  net::steady_timer idle_timer_;
  std::deque<std::string> out_;
  size_t out_bytes_ = 0;
  bool writing_ = false, response_complete_ = false, keep_alive_ = true;
  bool watching_ = false, awaiting_next_ = false, closed_ = false;
  std::shared_ptr<Generation> gen_;
};

}  // namespace loom::http
