// Built into ../static, which `rasad serve` serves; every dependency is bundled (no CDN).
import { defineConfig } from "vite";

export default defineConfig({
  root: ".",
  base: "/",
  build: {
    outDir: "../static",
    emptyOutDir: true,
    // ECharts alone is ~1 MB minified; it is served from loopback/LAN, so the warning is noise.
    chunkSizeWarningLimit: 1500,
  },
});
