// Wrangler and the vitest plugin bundle `*.wasm` imports as compiled WebAssembly.Module objects.
declare module "*.wasm" {
  const module: WebAssembly.Module;
  export default module;
}
