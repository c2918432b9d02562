/** The entry point of `npm start` (see train.ts). */
import { main } from "./train.js";

process.exitCode = await main(process.argv.slice(2));
