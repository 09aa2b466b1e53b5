import { createRequire as __rgCreateRequire } from 'node:module';const require = __rgCreateRequire(import.meta.url);
import {
  PENDING_STATE,
  actionLogger,
  run
} from "./chunk-D57WKG3S.js";
import "./chunk-P5G7GDGT.js";
import "./chunk-4FH7O7QX.js";
import "./chunk-OJCWM4JT.js";
export {
  PENDING_STATE,
  actionLogger,
  run
};
