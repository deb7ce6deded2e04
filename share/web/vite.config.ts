// The dashboard's build: served by bms-serve at "/" under
// Content-Security-Policy default-src 'self', so nothing is inlined as a
// data: URI and no script is inline.  The output is kept in the
// repository (dist/), so it must come out the same for the same inputs:
// names hashed by content, no timestamps, no source maps with paths.
import { defineConfig } from 'vitest/config'
import vue from '@vitejs/plugin-vue'
import tailwindcss from '@tailwindcss/vite'
import { fileURLToPath } from 'node:url'

// The bms-serve the dev server passes /api to (and its WebSocket).
const api = process.env.BMS_API ?? 'http://127.0.0.1:8080'

export default defineConfig({
  base: '/',
  plugins: [vue(), tailwindcss()],
  resolve: {
    alias: { '@': fileURLToPath(new URL('./src', import.meta.url)) },
  },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    assetsInlineLimit: 0,
    sourcemap: false,
    target: 'es2022',
    reportCompressedSize: true,
    chunkSizeWarningLimit: 400,
  },
  server: {
    proxy: {
      '/api': { target: api, ws: true, changeOrigin: false },
    },
  },
  test: {
    environment: 'happy-dom',
    include: ['tests/**/*.test.ts'],
    restoreMocks: true,
    // a Raspberry Pi is slow to transform the first test files
    testTimeout: 20_000,
  },
})
