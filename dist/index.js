import { createRequire as __rgCreateRequire } from 'node:module';const require = __rgCreateRequire(import.meta.url);
import {
  getState,
  saveState,
  setFailed
} from "./chunks/chunk-WHX6RHVK.js";
import "./chunks/chunk-WZ44NAQY.js";

// src/index.ts
var IS_POST = "isPost";
async function entry() {
  if (getState(IS_POST) === "true") {
    const { post } = await import("./chunks/post-DMJ5E4SB.js");
    await post();
    return;
  }
  saveState(IS_POST, "true");
  const { run } = await import("./chunks/main-XFNJBV7Y.js");
  await run();
}
entry().catch((e) => setFailed(e instanceof Error ? e.message : String(e)));
