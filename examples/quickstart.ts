/**
 * A first look at fluxion: arrays with NumPy's API, views, functional updates, derivatives,
 * vectorisation and the IR. Run with `npm start`.
 */
import { grad, jacfwd, makeProgram, np, vmap, type NDArray } from "../src/index.js";

// Arrays and NumPy-style math (float32 by default; JS numbers are weakly typed).
const x = np.arange(12).reshape([3, 4]).astype("float32");
console.log("x =", x.toString());
console.log("row means:", np.mean(x, { axis: 1 }).toList());

// Basic indexing returns views; `.at(...)` returns an updated copy.
console.log("x[1:, ::-1] =", x.get("1:, ::-1").toString());
console.log("x.at[..., 0].set(-1) =", x.at("..., 0").set(-1).toString());

// A small model and its loss.
function predict(weights: NDArray, inputs: NDArray): NDArray {
  return np.tanh(np.matmul(inputs, weights).mul(2).add(1)).sum({ axis: -1 });
}
const loss = (weights: NDArray, inputs: NDArray): NDArray => predict(weights, inputs).mean();
const w = np.linspace(-1, 1, 8).reshape([4, 2]);

// Derivatives: reverse mode, forward mode, per-example gradients with vmap.
console.log("loss =", loss(w, x).item());
console.log("d loss / d w =", grad(loss)(w, x).toString());
console.log("jacobian of predict w.r.t. the inputs:", jacfwd(predict, { argnums: 1 })(w, x).shape);
const perExample = vmap(grad(loss), { inAxes: [null, 0] });
console.log("per-example gradients:", perExample(w, x.reshape([3, 1, 4])).shape);

// The IR of the loss and of its gradient, as fluxion stages them.
console.log("IR of loss:\n" + makeProgram(loss)(w, x).toString());
console.log("IR of grad(loss):\n" + makeProgram(grad(loss))(w, x).toString());
