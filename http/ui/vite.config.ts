/// <reference types="vitest/config" />
// The web UI's build: React, one initial chunk plus the lazily loaded chart chunk
// (lightweight-charts), and a precompressed "<file>.gz" beside each text file, which quant-http
// sends to clients that accept gzip (http/src/static.cpp).
import { defineConfig, type Plugin } from "vite";
import react from "@vitejs/plugin-react";
import { gzipSync } from "node:zlib";
import { readFileSync, writeFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";

function gzipFiles(): Plugin {
  let outDir = "dist";
  return {
    name: "quant-gzip",
    apply: "build",
    configResolved(c) {
      outDir = c.build.outDir;
    },
    closeBundle() {
      const walk = (dir: string) => {
        for (const name of readdirSync(dir)) {
          const p = join(dir, name);
          if (statSync(p).isDirectory()) walk(p);
          else if (/\.(js|css|html|svg|json)$/.test(name))
            writeFileSync(p + ".gz", gzipSync(readFileSync(p), { level: 9 }));
        }
      };
      walk(outDir);
    },
  };
}

export default defineConfig({
  plugins: [react(), gzipFiles()],
  build: { outDir: "dist", emptyOutDir: true, sourcemap: false, chunkSizeWarningLimit: 400 },
  server: { proxy: { "/api": "http://127.0.0.1:8000" } },
  test: { include: ["src/**/*.test.ts"], environment: "node" },
});
