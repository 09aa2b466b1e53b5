import { createRequire as __rgCreateRequire } from 'node:module';const require = __rgCreateRequire(import.meta.url);
import {
  readInputs
} from "./chunk-RKDSRKRB.js";
import {
  getState,
  info,
  warning
} from "./chunk-P5G7GDGT.js";
import {
  PENDING_STATE,
  loadKubeConfig,
  makeClients,
  restorePending
} from "./chunk-EDPZKA6R.js";
import "./chunk-OJCWM4JT.js";

// src/post.ts
async function post() {
  const raw = getState(PENDING_STATE);
  if (!raw) return;
  const pending = JSON.parse(raw);
  const config = readInputs();
  const clients = makeClients(loadKubeConfig(config.kubeconfig, config.context));
  await restorePending(
    clients,
    pending,
    { info: (m) => info(m), warning: (m) => warning(m) },
    (context) => makeClients(loadKubeConfig(config.kubeconfig, context))
  );
}
export {
  post
};
