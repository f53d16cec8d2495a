import { defineConfig } from "vite";

// Served by `shancheng serve` at /ui/; the API lives at the server's root.
// `npm run dev` proxies the API to a running `shancheng serve` (SHANCHENG_API, default :8311).
const api = process.env.SHANCHENG_API ?? "http://127.0.0.1:8311";
const apiPaths = ["/auth", "/cases", "/city", "/circles", "/lifelines", "/stream", "/targets",
  "/tiles", "/open311", "/blobs", "/stats", "/health", "/openapi.json", "/departments", "/mobility",
  "/credit"];

export default defineConfig({
  base: "/ui/",
  build: { outDir: "dist", emptyOutDir: true, sourcemap: false, chunkSizeWarningLimit: 1500 },
  server: { proxy: Object.fromEntries(apiPaths.map((p) => [p, { target: api, changeOrigin: false }])) },
});
