/**
 * A first look at fluxion: arrays with NumPy's API, views, functional updates, and the IR.
 * Run with `npm start`.
 */
import { makeProgram, np, type NDArray } from "../src/index.js";

// Arrays and NumPy-style math (float32 by default; JS numbers are weakly typed).
const x = np.arange(12).reshape([3, 4]).astype("float32");
console.log("x =", x.toString());
console.log("row means:", np.mean(x, { axis: 1 }).toList());

// Basic indexing returns views; `.at(...)` returns an updated copy.
const corner = x.get("1:, ::-1");
console.log("x[1:, ::-1] =", corner.toString());
const updated = x.at("..., 0").set(-1);
console.log("x.at[..., 0].set(-1) =", updated.toString());

// Linear algebra.
const w = np.linspace(-1, 1, 8).reshape([4, 2]);
console.log("x @ w =", np.matmul(x, w).toString());

// The IR of a function, as fluxion stages it.
function layer(input: NDArray, weights: NDArray): NDArray {
  return np.tanh(np.matmul(input, weights).mul(2).add(1)).sum({ axis: -1 });
}
console.log("IR of layer:");
console.log(makeProgram(layer)(x, w).toString());
