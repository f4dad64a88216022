#include "static.hpp"

#include <sys/stat.h>

#include <fstream>
#include <sstream>
#include <string_view>

namespace quant::http {

namespace {

bool regular_file(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

bool read_file(const std::string& path, std::string& out) {
    std::ifstream in(path, std::ios::binary);
    if (!in)
        return false;
    std::ostringstream s;
    s << in.rdbuf();
    out = std::move(s).str();
    return true;
}

bool ends_with(std::string_view s, std::string_view tail) {
    return s.size() >= tail.size() && s.substr(s.size() - tail.size()) == tail;
}

std::string content_type(std::string_view path) {
    static constexpr std::pair<std::string_view, std::string_view> kTypes[] = {
        {".html", "text/html; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".json", "application/json"},
        {".svg", "image/svg+xml"},
        {".png", "image/png"},
        {".ico", "image/x-icon"},
        {".woff2", "font/woff2"},
        {".txt", "text/plain; charset=utf-8"},
        {".map", "application/json"},
    };
    for (const auto& [ext, type] : kTypes) {
        if (ends_with(path, ext))
            return std::string(type);
    }
    return "application/octet-stream";
}

// A path that stays inside the directory: no "..", no NUL, no backslash, no empty segment tricks.
bool safe(std::string_view path) {
    if (path.empty() || path.front() != '/' || path.find('\0') != std::string_view::npos ||
        path.find('\\') != std::string_view::npos || path.find("//") != std::string_view::npos) {
        return false;
    }
    std::size_t i = 0;
    while (i < path.size()) {
        const std::size_t next = path.find('/', i + 1);
        const std::string_view seg =
            path.substr(i + 1, (next == std::string_view::npos ? path.size() : next) - i - 1);
        if (seg == ".." || seg == "." || (!seg.empty() && seg.front() == '.'))
            return false;
        i = next == std::string_view::npos ? path.size() : next;
    }
    return true;
}

bool accepts_gzip(const Request& req) {
    return req.header("Accept-Encoding").find("gzip") != std::string::npos;
}

}  // namespace

bool StaticFiles::wants(const Request& req) {
    const std::string_view p = req.path;
    // /metrics is served on its own address only: here it stays the API's 404
    return req.method == "GET" && p.substr(0, 5) != "/api/" && p != "/api" && p != "/metrics";
}

void StaticFiles::serve(const Request& req, Response& res) const {
    res.set_header("X-Content-Type-Options", "nosniff");
    const auto not_found = [&res](const std::string& why) {
        res.status = 404;
        res.set_header("Cache-Control", "no-store");
        res.set_content(why + "\n", "text/plain; charset=utf-8");
    };
    if (root_.empty()) {
        not_found("no web UI on this server (QUANT_HTTP_UI_DIR is empty); the API is under /api/v1/");
        return;
    }
    std::string rel = req.path;
    if (!safe(rel)) {
        not_found("no such file");
        return;
    }
    if (rel == "/")
        rel = "/index.html";
    std::string file = root_ + rel;
    const bool asset = rel.rfind("/assets/", 0) == 0;
    if (!regular_file(file)) {
        // a page of the app (no extension in its last segment) gets index.html; a missing asset is 404
        const std::string_view last = std::string_view(rel).substr(rel.rfind('/') + 1);
        if (asset || last.find('.') != std::string_view::npos) {
            not_found("no such file: " + rel.substr(0, 200));
            return;
        }
        rel = "/index.html";
        file = root_ + rel;
        if (!regular_file(file)) {
            not_found("the web UI is not built (no " + file.substr(0, 200) +
                      "): run `npm ci && npm run build` in http/ui, or make run");
            return;
        }
    }
    std::string body;
    bool gzipped = false;
    if (accepts_gzip(req) && regular_file(file + ".gz") && read_file(file + ".gz", body)) {
        gzipped = true;
    } else if (!read_file(file, body)) {
        not_found("cannot read " + rel.substr(0, 200));
        return;
    }
    res.status = 200;
    res.set_header("Cache-Control", asset ? "public, max-age=31536000, immutable" : "no-cache");
    res.set_header("Vary", "Accept-Encoding");
    if (gzipped)
        res.set_header("Content-Encoding", "gzip");
    if (ends_with(rel, ".html")) {
        res.set_header("Content-Security-Policy",
                       "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
                       "frame-ancestors 'none'; base-uri 'none'; form-action 'self'");
        res.set_header("Referrer-Policy", "no-referrer");
    }
    res.set_content(std::move(body), content_type(rel));
}

}  // namespace quant::http
