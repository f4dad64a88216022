// One HTTP(S) connection to a Bybit host (libcurl, libcurl4-openssl-dev): keep-alive (the easy
// handle is reused), connect and total timeouts, certificate and host verification on. A
// transport failure (DNS, refused, timeout, reset) is a quant::BrokerError.
#pragma once
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace quant::bybit {

struct HttpResponse {
    int status = 0;
    std::string body;
    std::map<std::string, std::string> headers;  // names lowercased
};

class HttpClient {
public:
    HttpClient(long connect_timeout_ms, long timeout_ms);
    ~HttpClient();
    HttpClient(const HttpClient&) = delete;
    HttpClient& operator=(const HttpClient&) = delete;

    // method "GET" or "POST"; url the full URL (query included); body sent as is.
    HttpResponse request(const std::string& method, const std::string& url,
                         const std::vector<std::string>& headers, const std::string& body);

private:
    void* curl_ = nullptr;  // CURL*
    long connect_timeout_ms_;
    long timeout_ms_;
};

}  // namespace quant::bybit
