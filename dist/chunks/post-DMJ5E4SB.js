import { createRequire as __rgCreateRequire } from 'node:module';const require = __rgCreateRequire(import.meta.url);
import {
  readInputs
} from "./chunk-6N2NHFTG.js";
import {
  getState,
  info,
  warning
} from "./chunk-WHX6RHVK.js";
import {
  PENDING_STATE,
  loadKubeConfig,
  makeClients,
  restorePending
} from "./chunk-LUTOOOFF.js";
import "./chunk-WZ44NAQY.js";

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
