/**
 * The main job (apps/mnist): its command line (defaults, --help, bad flags → exit 2 with the
 * reason), and a short training run that learns, plots and saves a model that loads back.
 */
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { main, parseOptions, train, UsageError } from "../../apps/mnist/train.js";
import { CNN } from "../../apps/mnist/models.js";
import { nn, random } from "../../src/index.js";

afterEach(() => {
  vi.restoreAllMocks();
});

describe("the command line", () => {
  it("has defaults and --help", () => {
    expect(parseOptions([])).toMatchObject({
      epochs: 12,
      batchSize: 128,
      learningRate: 0.002,
      model: "cnn",
      seed: 0,
      out: "out",
    });
    expect(parseOptions(["--model", "mlp"])).toMatchObject({
      epochs: 30,
      learningRate: 0.001,
      model: "mlp",
    });
    expect(parseOptions(["--epochs", "3", "--batch-size=64", "--seed", "7"])).toMatchObject({
      epochs: 3,
      batchSize: 64,
      seed: 7,
    });
    expect(parseOptions(["--help"])).toBeUndefined();
  });

  it("rejects bad flags with a reason, and main exits with 2", async () => {
    for (const [argv, reason] of [
      [["--epochs", "0"], /--epochs must be a whole number ≥ 1, got "0"/],
      [["--batch-size", "x"], /--batch-size must be a whole number/],
      [["--learning-rate=-1"], /--learning-rate must be a positive number/],
      [["--learning-rate", "0"], /--learning-rate must be a positive number/],
      [["--model", "rnn"], /--model must be cnn or mlp, got "rnn"/],
      [["--seed", "1.5"], /--seed must be a whole number ≥ 0/],
      [["--bogus"], /Unknown option '--bogus'/],
    ] as const) {
      expect(() => parseOptions(argv)).toThrow(UsageError);
      expect(() => parseOptions(argv)).toThrow(reason);
      const stderr = vi.spyOn(process.stderr, "write").mockImplementation(() => true);
      expect(await main(argv)).toBe(2);
      expect(String(stderr.mock.calls[0]?.[0])).toMatch(reason);
      expect(String(stderr.mock.calls[0]?.[0])).toContain("Usage: npm start");
      stderr.mockRestore();
    }
    const stdout = vi.spyOn(process.stdout, "write").mockImplementation(() => true);
    expect(await main(["--help"])).toBe(0);
    expect(String(stdout.mock.calls[0]?.[0])).toContain("--learning-rate");
  });
});

describe("training", () => {
  it(
    "the CNN learns in one epoch and saves a model that loads back",
    { timeout: 120_000 },
    async () => {
      const out = mkdtempSync(join(tmpdir(), "fluxion-mnist-cnn-"));
      const result = await train(
        { ...parseOptions(["--epochs", "1", "--out", out])!, progress: false },
        () => undefined,
      );
      expect(result.testAccuracy).toBeGreaterThan(0.8);
      const loaded = nn.load(join(out, "model.safetensors"), new CNN(random.key(1)));
      expect(loaded.conv2.weight.shape).toEqual([32, 16, 3, 3]);
      expect(loaded.output.weight.shape).toEqual([10, 128]);
    },
  );

  it(
    "learns in one epoch, writes the plot and a model that loads back",
    { timeout: 60_000 },
    async () => {
      const out = mkdtempSync(join(tmpdir(), "fluxion-mnist-"));
      const lines: string[] = [];
      const result = await train(
        {
          epochs: 1,
          batchSize: 128,
          learningRate: 0.002,
          model: "mlp",
          seed: 0,
          out,
          progress: false,
        },
        (line) => lines.push(line),
      );
      expect(result.testAccuracy).toBeGreaterThan(0.8);
      expect(result.losses).toHaveLength(1);
      expect(lines.join("\n")).toMatch(/test accuracy \d+\.\d+% on 2000 digits/);
      const svg = readFileSync(join(out, "loss.svg"), "utf8");
      expect(svg.startsWith("<svg")).toBe(true);
      expect(svg).toContain("test accuracy");
      expect(existsSync(join(out, "model.safetensors"))).toBe(true);
      const like = new nn.MLP({
        inSize: 784,
        outSize: 10,
        widthSize: 256,
        depth: 2,
        key: random.key(1),
      });
      const loaded = nn.load(join(out, "model.safetensors"), like);
      expect(loaded.layers[2]!.weight.shape).toEqual([10, 256]);
    },
  );
});
