// The web UI's built files (http/ui, `npm run build`) at `/`: GET of any path outside /api/ and
// the operations routes. A file of the directory is answered with its type; a path without one
// (a page of the single-page app) gets index.html. Hashed assets (/assets/*) are cached for a
// year (immutable), everything else must be revalidated (no-cache). A precompressed "<file>.gz"
// beside a file (the build writes them) is sent to clients that accept gzip.
#pragma once

#include <string>

#include "message.hpp"

namespace quant::http {

class StaticFiles {
public:
    // root: the directory (QUANT_HTTP_UI_DIR); empty: no UI.
    explicit StaticFiles(std::string root) : root_(std::move(root)) {}
    // Whether the request is the UI's: GET of a path not under /api/ (nor /metrics).
    static bool wants(const Request& req);
    // The file, index.html, or a 404 (text) when neither exists.
    void serve(const Request& req, Response& res) const;

private:
    std::string root_;
};

}  // namespace quant::http
