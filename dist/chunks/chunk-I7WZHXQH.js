import { createRequire as __rgCreateRequire } from 'node:module';const require = __rgCreateRequire(import.meta.url);
import{a as o}from"./chunk-XOKAOISC.js";import{setFlagsFromString as t}from"node:v8";function e(){try{t("--semi-space-growth-factor=1")}catch{}}o(e,"keepYoungGenerationSmall");export{e as a};
