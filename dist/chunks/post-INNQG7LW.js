import { createRequire as __rgCreateRequire } from 'node:module';const require = __rgCreateRequire(import.meta.url);
import {
  PENDING_STATE,
  readInputs
} from "./chunk-YMV6APVR.js";
import {
  getState,
  warning
} from "./chunk-HGDOEOKP.js";
import {
  ConflictError,
  applyGuardedPatch,
  loadKubeConfig,
  makeClients,
  planRestore,
  snapshotOf
} from "./chunk-ZLPPYCYY.js";
import "./chunk-OJCWM4JT.js";

// src/post.ts
async function post() {
  const raw = getState(PENDING_STATE);
  if (!raw) return;
  const pending = JSON.parse(raw);
  const config = readInputs();
  const clients = makeClients(loadKubeConfig(config.kubeconfig, config.context));
  const snapshot = {
    ...snapshotOf({ metadata: { name: pending.deployment, namespace: pending.namespace } }),
    template: pending.template
  };
  try {
    await applyGuardedPatch(
      clients,
      snapshot,
      planRestore(snapshot, pending.generation, "job cancelled during the release")
    );
    warning(
      `The job ended during the release: the previous template of ${pending.namespace}/${pending.deployment} was restored`
    );
  } catch (e) {
    if (e instanceof ConflictError) {
      warning(
        `The job ended during the release, but the Deployment was changed by someone else since; not restoring`
      );
      return;
    }
    throw e;
  }
}
export {
  post
};
