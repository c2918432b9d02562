/**
 * Models in the safetensors format: the bytes follow the format's specification (checked field
 * by field, and by reading a file assembled here by hand), models round-trip, and bad files give
 * typed errors that name the file and leave nothing half-written.
 */
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { nn, np, random, type NDArray } from "../../src/index.js";

/** A safetensors file assembled from the specification: u64 header size, JSON, raw bytes. */
function assemble(header: Record<string, unknown>, data: Uint8Array): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

const bytesOf = (a: Float32Array | Int32Array): Uint8Array => new Uint8Array(a.buffer);

describe("serialize", () => {
  it("writes the format: header length, JSON header with dtype/shape/offsets, aligned data", () => {
    const model = {
      w: np.array([
        [1, 2],
        [3, 4],
      ]),
      n: np.array([7, -1], { dtype: "int32" }),
    };
    const bytes = nn.serialize(model, { format: "pt" });
    const size = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect((8 + size) % 8).toBe(0);
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + size))) as Record<
      string,
      { dtype: string; shape: number[]; data_offsets: number[] }
    >;
    expect(header.__metadata__).toEqual({ format: "pt" });
    expect(header.w).toEqual({ dtype: "F32", shape: [2, 2], data_offsets: [0, 16] });
    expect(header.n).toEqual({ dtype: "I32", shape: [2], data_offsets: [16, 24] });
    const data = bytes.subarray(8 + size);
    expect(Array.from(new Float32Array(data.slice(0, 16).buffer))).toEqual([1, 2, 3, 4]);
    expect(Array.from(new Int32Array(data.slice(16, 24).buffer))).toEqual([7, -1]);
  });

  it("names tensors by their path in a model and round-trips every dtype", () => {
    const mlp = new nn.MLP({ inSize: 3, outSize: 2, widthSize: 4, depth: 1, key: random.key(0) });
    const bytes = nn.serialize(mlp);
    const size = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    const names = Object.keys(
      JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + size))) as object,
    );
    expect(names).toEqual(["layers.0.weight", "layers.0.bias", "layers.1.weight", "layers.1.bias"]);
    const fresh = new nn.MLP({ inSize: 3, outSize: 2, widthSize: 4, depth: 1, key: random.key(9) });
    const back = nn.deserialize(bytes, fresh);
    expect(back).toBeInstanceOf(nn.MLP);
    expect(back.layers[1]!.weight.toList()).toEqual(mlp.layers[1]!.weight.toList());
    const mixed = {
      a: np.array([0.1, -2.5], { dtype: "float64" }),
      b: np.array(new Uint32Array([4000000000])),
      c: np.array([true, false]),
    };
    const again = nn.deserialize(nn.serialize(mixed), mixed);
    expect(again.a.toList()).toEqual([0.1, -2.5]);
    expect(again.b.toList()).toEqual([4000000000]);
    expect(again.c.toList()).toEqual([true, false]);
  });

  it("reads a file assembled from the specification", () => {
    const w = new Float32Array([0.5, -1, 2, 4.25]);
    const b = new Int32Array([3]);
    const file = assemble(
      {
        "layer.bias": { dtype: "I32", shape: [1], data_offsets: [16, 20] },
        "layer.weight": { dtype: "F32", shape: [2, 2], data_offsets: [0, 16] },
      },
      new Uint8Array([...bytesOf(w), ...bytesOf(b)]),
    );
    const like = { layer: { weight: np.zeros([2, 2]), bias: np.zeros([1], { dtype: "int32" }) } };
    const got = nn.deserialize(file, like);
    expect(got.layer.weight.toList()).toEqual([
      [0.5, -1],
      [2, 4.25],
    ]);
    expect(got.layer.bias.toList()).toEqual([3]);
  });
});

describe("save and load", () => {
  const dir = mkdtempSync(join(tmpdir(), "fluxion-safetensors-"));
  const model = { weight: np.array([[1, 2, 3]]), bias: np.array([0.5]) };

  it("round-trips through a file and leaves no temporary file", () => {
    const path = join(dir, "model.safetensors");
    nn.save(path, model);
    const back = nn.load(path, model) as { weight: NDArray; bias: NDArray };
    expect(back.weight.toList()).toEqual([[1, 2, 3]]);
    expect(readdirSync(dir)).toEqual(["model.safetensors"]);
  });

  it("gives typed errors naming the file for missing, truncated, corrupt and mismatched files", () => {
    const missing = join(dir, "nope.safetensors");
    expect(() => nn.load(missing, model)).toThrow(nn.SerializationError);
    expect(() => nn.load(missing, model)).toThrow(/could not read .*nope.safetensors/);
    const good = nn.serialize(model);
    const truncated = join(dir, "truncated.safetensors");
    writeFileSync(truncated, good.subarray(0, good.length - 3));
    expect(() => nn.load(truncated, model)).toThrow(
      /truncated.safetensors is not a valid safetensors file.*truncated/,
    );
    const corrupt = join(dir, "corrupt.safetensors");
    writeFileSync(
      corrupt,
      assemble({}, new Uint8Array()).map((v, i) => (i === 9 ? 0x7b - 1 : v)),
    );
    expect(() => nn.load(corrupt, model)).toThrow(/not JSON/);
    expect(() => nn.deserialize(new Uint8Array([1, 2]), model)).toThrow(/fewer than the 8/);
    const other = { weight: np.zeros([3, 1]), bias: np.zeros([1]) };
    expect(() => nn.deserialize(good, other)).toThrow(
      /tensor weight .* float32\[1, 3\] but the model has float32\[3, 1\]/,
    );
    expect(() => nn.deserialize(good, { kernel: np.zeros([1]) })).toThrow(/no tensor kernel/);
  });

  it("a failed save leaves nothing behind", () => {
    const target = join(dir, "missing-folder", "model.safetensors");
    expect(() => nn.save(target, model)).toThrow(/could not write/);
    expect(readdirSync(dir).filter((f) => f.includes("tmp"))).toEqual([]);
    expect(readFileSync(join(dir, "model.safetensors")).length).toBeGreaterThan(0);
  });
});
