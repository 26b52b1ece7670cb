/// <reference types="node" />
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';

// Resolve paths from this file so `npx vite build --config dashboard/vite.config.ts`
// works from the repository root.
const root = fileURLToPath(new URL('.', import.meta.url));
const apiTarget = process.env['VIGIL_API'] ?? 'http://127.0.0.1:8080';

export default defineConfig({
  root,
  base: '/',
  plugins: [svelte()],
  build: {
    outDir: fileURLToPath(new URL('./dist', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
  },
  server: {
    port: 5173,
    // The API types and enum values are imported from the server's schema modules.
    fs: { allow: [fileURLToPath(new URL('..', import.meta.url))] },
    proxy: {
      // The WebSocket entry must come before the generic /api entry.
      '/api/v1/live': { target: apiTarget, ws: true, changeOrigin: true },
      '/api': { target: apiTarget, changeOrigin: true },
      '/healthz': { target: apiTarget, changeOrigin: true },
    },
  },
  preview: { port: 4173 },
});
