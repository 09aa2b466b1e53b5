import { createRequire as __rgCreateRequire } from 'node:module';const require = __rgCreateRequire(import.meta.url);
import {
  restorePending
} from "./chunk-5IMRGSHV.js";
import {
  PENDING_STATE,
  readInputs
} from "./chunk-D57WKG3S.js";
import {
  getState,
  info,
  warning
} from "./chunk-P5G7GDGT.js";
import {
  loadKubeConfig,
  makeClients
} from "./chunk-4FH7O7QX.js";
import "./chunk-OJCWM4JT.js";

// src/post.ts
async function post() {
  const raw = getState(PENDING_STATE);
  if (!raw) return;
  const pending = JSON.parse(raw);
  const config = readInputs();
  const clients = makeClients(loadKubeConfig(config.kubeconfig, config.context));
  await restorePending(clients, pending, { info: (m) => info(m), warning: (m) => warning(m) });
}
export {
  post
};
