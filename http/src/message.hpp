// A request and its response as the handlers see them: plain values, so that the routes, auth,
// problem+json and metrics do not know the transport (transport.cpp) that reads and writes them.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace quant::http {

using Fields = std::vector<std::pair<std::string, std::string>>;

struct Request {
    std::string method;
    std::string path;  // percent-decoded, without the query
    Fields params;     // the query, decoded, in order (a repeated name keeps its first value)
    Fields headers;    // names as sent
    std::string body;
    std::string remote_addr;

    // The first value of a header (names are case-insensitive); empty when absent.
    std::string header(std::string_view name) const;
    bool has_header(std::string_view name) const;
    // The first value of a query parameter, or nullptr.
    const std::string* param(std::string_view name) const;
};

struct Response {
    int status = 200;
    Fields headers;
    std::string content_type;
    std::string body;
    bool close = false;  // end the connection after this response

    void set_header(std::string name, std::string value);
    void set_content(std::string text, std::string type) {
        body = std::move(text);
        content_type = std::move(type);
    }
};

// "/a%20b?x=1&y" -> path "/a b", params {x: 1, y: ""}. False when a %-escape is malformed.
bool split_target(std::string_view target, std::string& path, Fields& params);

}  // namespace quant::http
