// HTTP/1.1 response bytes: whole responses, the chunked SSE header and its
// chunks. Pure string building (the server writes these as they are).
#pragma once
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace loom::http {

using Headers = std::vector<std::pair<std::string, std::string>>;

const char* status_text(int status);
std::string http_response(int status, std::string_view content_type, std::string_view body, bool keep_alive,
                          const Headers& extra = {});
// 200, text/event-stream, chunked: each SSE frame then goes out as chunk().
std::string sse_header(bool keep_alive);
std::string chunk(std::string_view data);
inline constexpr std::string_view kLastChunk = "0\r\n\r\n";

}  // namespace loom::http
