#pragma once

#include <string>
#include <utility>
#include <vector>

namespace lockwatch {

// What the endpoints need to know about one HTTP request.
struct HttpRequest {
  std::string method;
  std::string uri;            // the path, without the query string
  std::string authorization;  // the Authorization header, "" when absent
  std::string peer;           // the client's address, for the log
};

// A complete answer to one request.
struct HttpResponse {
  std::string status;  // "200 OK"
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // beyond the standard ones
};

}  // namespace lockwatch
