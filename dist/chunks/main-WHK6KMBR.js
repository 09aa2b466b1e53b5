import { createRequire as __rgCreateRequire } from 'node:module';const require = __rgCreateRequire(import.meta.url);
import {
  PENDING_STATE,
  actionLogger,
  run
} from "./chunk-3MZNDC6M.js";
import "./chunk-HGDOEOKP.js";
import "./chunk-DDEZQEQF.js";
import "./chunk-OJCWM4JT.js";
export {
  PENDING_STATE,
  actionLogger,
  run
};
