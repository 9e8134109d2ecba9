#include "adapters/http/session.h"

#include "adapters/http/http_wire.h"
#include "adapters/http/response.h"
#include "adapters/http/routes.h"

namespace loom::http {

namespace bhttp = beast::http;

Session::Session(HttpServer::Core& core, net::ip::tcp::socket socket)
    : core_(core), stream_(std::move(socket)), idle_timer_(stream_.get_executor()) {}

void Session::read_header(std::chrono::milliseconds deadline) {
  if (closed_) return;
  parser_.emplace();
  parser_->header_limit(static_cast<uint32_t>(core_.options.max_header_bytes));
  parser_->body_limit(core_.options.max_body_bytes);
  // One deadline for the whole header: trickling bytes does not extend it.
  stream_.expires_after(deadline);
  bhttp::async_read_header(stream_, buffer_, *parser_,
                           [self = shared_from_this()](beast::error_code ec, size_t) { self->on_header(ec); });
}

void Session::on_header(beast::error_code ec) {
  if (ec == bhttp::error::header_limit) return refuse_and_close(431, "request header over the size limit");
  if (ec == bhttp::error::body_limit) return refuse_and_close(413, "request body over the size limit");
  // Closed, timed out (the stream has closed the socket already), or not
  // HTTP: nothing useful to answer.
  if (ec) return close();
  const auto& req = parser_->get();
  if (auto len = parser_->content_length(); len && *len > core_.options.max_body_bytes)
    return refuse_and_close(413, "request body of " + std::to_string(*len) + " bytes over the limit of " +
                                     std::to_string(core_.options.max_body_bytes));
  if (beast::iequals(req[bhttp::field::expect], "100-continue")) {
    beast::error_code ignored;
    net::write(stream_.socket(), net::buffer(std::string_view("HTTP/1.1 100 Continue\r\n\r\n")), ignored);
  }
  if (parser_->is_done()) return handle();
  stream_.expires_after(core_.options.body_timeout);
  bhttp::async_read(stream_, buffer_, *parser_,
                    [self = shared_from_this()](beast::error_code ec, size_t) { self->on_body(ec); });
}

void Session::on_body(beast::error_code ec) {
  if (ec == bhttp::error::body_limit) return refuse_and_close(413, "request body over the size limit");
  if (ec == beast::error::timeout) return close();  // the socket is closed already: no 408 possible
  if (ec == net::error::eof || ec == bhttp::error::end_of_stream || ec == net::error::connection_reset) return close();
  if (ec) return refuse_and_close(400, std::string("malformed request: ") + ec.message());
  handle();
}

void Session::refuse_and_close(int status, const std::string& message) {
  HttpError e;
  e.status = status;
  e.message = message;
  e.code = status == 413 ? "payload_too_large" : "bad_request";
  keep_alive_ = false;
  stream_.expires_never();
  write(http_response(status, "application/json", error_body(e), false));
  response_done();
}

void Session::handle() {
  stream_.expires_never();
  Request req = parser_->release();
  keep_alive_ = req.keep_alive();
  response_complete_ = false;
  Routed r = route(core_, req, keep_alive_, shared_from_this(), stream_.get_executor());
  if (r.response) {
    write(std::move(*r.response));
    response_done();
    return;
  }
  gen_ = std::move(r.generation);
  // A hang-up during the generation cancels it. When the next request's
  // bytes are here already (pipelined), the read that would notice is that
  // request's own, after this answer; a hang-up then shows as a write error.
  if (buffer_.size() == 0) watch();
  gen_->start();
}

void Session::watch() {
  if (watching_ || closed_) return;
  watching_ = true;
  stream_.socket().async_read_some(buffer_.prepare(4096), [self = shared_from_this()](beast::error_code ec, size_t n) {
    self->on_watch(ec, n);
  });
}

void Session::on_watch(beast::error_code ec, size_t n) {
  watching_ = false;
  if (ec) return close();  // the client hung up (or the idle timer closed the socket)
  buffer_.commit(n);
  if (awaiting_next_) {
    awaiting_next_ = false;
    idle_timer_.cancel();
    return read_header(core_.options.header_timeout);
  }
  // Bytes of the next request while this one is still answered (pipelined,
  // or sent as soon as the client read our last chunk, before our write
  // completed): kept for the parser, which after_response() starts. No new
  // watch: the next read is that request's.
}

void Session::write(std::string bytes) {
  if (closed_) return;
  out_bytes_ += bytes.size();
  if (out_bytes_ > core_.options.max_pending_output_bytes) return close();  // not reading: gone
  out_.push_back(std::move(bytes));
  if (!writing_) do_write();
}

void Session::do_write() {
  writing_ = true;
  net::async_write(stream_, net::buffer(out_.front()),
                   [self = shared_from_this()](beast::error_code ec, size_t) { self->on_write(ec); });
}

void Session::on_write(beast::error_code ec) {
  writing_ = false;
  if (ec) return close();
  out_bytes_ -= out_.front().size();
  out_.pop_front();
  if (!out_.empty()) return do_write();
  if (response_complete_) after_response();
}

void Session::response_done() {
  response_complete_ = true;
  if (!writing_ && out_.empty()) after_response();
}

void Session::after_response() {
  response_complete_ = false;
  gen_.reset();
  if (closed_) return;
  if (!keep_alive_) return linger_close();
  if (buffer_.size() > 0 && !watching_) return read_header(core_.options.header_timeout);
  if (!watching_) return read_header(core_.options.idle_timeout);
  // The watch read is still out: it becomes the wait for the next request.
  awaiting_next_ = true;
  idle_timer_.expires_after(core_.options.idle_timeout);
  idle_timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
    if (!ec && self->awaiting_next_) self->close();
  });
}

// Closing a socket that still holds unread request bytes resets the
// connection, and the client may lose the answer it was just sent (a 413
// for a body it is still uploading). So: half-close, read and drop what
// still arrives until the client closes or 2 s pass, then close.
void Session::linger_close() {
  beast::error_code ignored;
  stream_.socket().shutdown(net::ip::tcp::socket::shutdown_send, ignored);
  if (watching_) return close();  // a read is out already; its end closes nothing new
  stream_.expires_after(std::chrono::seconds(2));  // one deadline for the whole linger
  drain_then_close();
}

void Session::drain_then_close() {
  stream_.async_read_some(buffer_.prepare(64 << 10), [self = shared_from_this()](beast::error_code ec, size_t) {
    self->buffer_.clear();
    if (ec) return self->close();
    self->drain_then_close();
  });
}

void Session::close() {
  if (closed_) return;
  closed_ = true;
  if (gen_ && !gen_->finished()) gen_->abandon();
  idle_timer_.cancel();
  beast::error_code ignored;
  stream_.socket().shutdown(net::ip::tcp::socket::shutdown_both, ignored);
  stream_.socket().close(ignored);
}

}  // namespace loom::http
