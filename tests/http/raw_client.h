// A blocking HTTP/1.1 client over a plain socket, for the server tests: it
// writes exactly the bytes given and parses what comes back independently
// of the server's own code.
#pragma once
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>

namespace loom::testing {

struct RawResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;                            // de-chunked
};

class RawConnection {
 public:
  explicit RawConnection(uint16_t port, int timeout_s = 10) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    timeval tv{timeout_s, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) throw std::runtime_error("connect failed");
  }
  ~RawConnection() { close(); }
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  bool send(const std::string& bytes) {
    return ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size());
  }
  // Reads one response (Content-Length or chunked); throws on EOF/timeout first.
  RawResponse read_response() {
    RawResponse r;
    const size_t head_end = fill_until("\r\n\r\n");
    const std::string head = buf_.substr(0, head_end);
    buf_.erase(0, head_end + 4);
    r.status = std::stoi(head.substr(9, 3));
    for (size_t pos = head.find("\r\n"); pos != std::string::npos;) {
      const size_t next = head.find("\r\n", pos + 2);
      const std::string line = head.substr(pos + 2, next == std::string::npos ? std::string::npos : next - pos - 2);
      const size_t colon = line.find(':');
      if (colon != std::string::npos) {
        std::string k = line.substr(0, colon);
        for (auto& c : k) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        r.headers[k] = line.substr(line.find_first_not_of(' ', colon + 1));
      }
      pos = next;
    }
    if (r.headers.count("content-length")) {
      const size_t n = std::stoul(r.headers["content-length"]);
      fill_bytes(n);
      r.body = buf_.substr(0, n);
      buf_.erase(0, n);
    } else if (r.headers["transfer-encoding"] == "chunked") {
      for (;;) {
        const size_t eol = fill_until("\r\n");
        const size_t n = std::stoul(buf_.substr(0, eol), nullptr, 16);
        buf_.erase(0, eol + 2);
        fill_bytes(n + 2);
        r.body += buf_.substr(0, n);
        buf_.erase(0, n + 2);
        if (n == 0) break;
      }
    }
    return r;
  }
  // True when the server closed the connection (EOF) within the timeout.
  bool closed_by_peer() {
    char c;
    const ssize_t n = ::recv(fd_, &c, 1, 0);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
  }

 private:
  void read_more() {
    char tmp[65536];
    const ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
    if (n <= 0) throw std::runtime_error("connection closed or timed out");
    buf_.append(tmp, static_cast<size_t>(n));
  }
  size_t fill_until(const char* marker) {
    for (;;) {
      if (auto p = buf_.find(marker); p != std::string::npos) return p;
      read_more();
    }
  }
  void fill_bytes(size_t n) {
    while (buf_.size() < n) read_more();
  }
  int fd_ = -1;
  std::string buf_;
};

inline std::string post(const std::string& path, const std::string& body, const std::string& extra_headers = "") {
  return "POST " + path + " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n" + extra_headers + "\r\n" + body;
}
inline std::string get(const std::string& path, const std::string& extra_headers = "") {
  return "GET " + path + " HTTP/1.1\r\nHost: x\r\n" + extra_headers + "\r\n";
}

}  // namespace loom::testing
