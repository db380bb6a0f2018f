// Builds the app into the Python package, so the hub serves it and users need no Node.
import preact from "@preact/preset-vite";
import { defineConfig } from "vite";

export default defineConfig({
  plugins: [preact()],
  base: "/",
  build: {
    outDir: "../src/carhome/web/static",
    emptyOutDir: true,
    assetsDir: "assets",
    // One small bundle: the app is a few pages; no source maps in the package.
    sourcemap: false,
    target: "es2020",
    // The signing library is its own entry too (assets/signing-<hash>.js, exports kept), so
    // the vectors test can import it in the browser; the app shares that chunk. No preload
    // links: index.html keeps loading exactly one script, the app's, which imports the rest.
    modulePreload: false,
    rollupOptions: {
      input: { index: "index.html", signing: "src/signing/index.ts" },
      preserveEntrySignatures: "exports-only",
    },
  },
  server: {
    // `npm run dev` against a demo hub on the default port.
    proxy: { "/api": { target: "http://127.0.0.1:8780", ws: true } },
  },
});
