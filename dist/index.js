import { createRequire as __rgCreateRequire } from 'node:module';const require = __rgCreateRequire(import.meta.url);
import {
  getState,
  saveState,
  setFailed
} from "./chunks/chunk-P5G7GDGT.js";
import "./chunks/chunk-OJCWM4JT.js";

// src/index.ts
var IS_POST = "isPost";
async function entry() {
  if (getState(IS_POST) === "true") {
    const { post } = await import("./chunks/post-6DVQ4CW2.js");
    await post();
    return;
  }
  saveState(IS_POST, "true");
  const { run } = await import("./chunks/main-DEYNWLZE.js");
  await run();
}
entry().catch((e) => setFailed(e instanceof Error ? e.message : String(e)));
