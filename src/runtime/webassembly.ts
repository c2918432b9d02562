/**
 * The parts of the WebAssembly JavaScript API fluxion uses, typed. The project's type environment
 * (lib ES2022 and @types/node 20) declares no `WebAssembly` global, so code imports this binding
 * of the real one instead.
 */

/** A compiled module. */
export type WasmModule = object;

/** What an import object holds: module name → field name → value. */
export type WasmImports = Record<string, Record<string, unknown>>;

/** A global exported by an instance. */
export interface WasmGlobal {
  value: number | bigint;
}

/** A linear memory. */
export interface WasmMemory {
  readonly buffer: ArrayBuffer | SharedArrayBuffer;
  grow(pages: number): number;
}

interface WebAssemblyApi {
  Module: {
    new (bytes: Uint8Array): WasmModule;
    imports(module: WasmModule): { module: string; name: string; kind: string }[];
    exports(module: WasmModule): { name: string; kind: string }[];
    customSections(module: WasmModule, name: string): ArrayBuffer[];
  };
  Instance: new (module: WasmModule, imports?: WasmImports) => { exports: Record<string, unknown> };
  Memory: new (descriptor: { initial: number; maximum?: number; shared?: boolean }) => WasmMemory;
  validate(bytes: Uint8Array): boolean;
  RuntimeError: ErrorConstructor;
  CompileError: ErrorConstructor;
}

/** The engine's `WebAssembly` object. */
export const WebAssembly = (globalThis as unknown as { WebAssembly: WebAssemblyApi }).WebAssembly;
