/** Reading template.yaml into the PlatformModel the local runtime runs. */
export { type CfnResource, type CfnTemplate, parseCfnTemplate, readCfnTemplate } from './cfn-yaml';
export {
  composeEnvironment,
  DEFAULT_ENDPOINTS,
  LOCAL_ACCESS_KEY_ID,
  LOCAL_SECRET_ACCESS_KEY,
  type LocalEndpoints,
  readEnvJson,
} from './environment';
export { TemplateError } from './errors';
export { mergeGlobals } from './globals';
export { IntrinsicResolver, NO_VALUE } from './intrinsics';
export { buildPlatformModel, type LoadPlatformModelOptions, loadPlatformModel } from './load-model';
export { PLACEHOLDER_STREAM_LABEL } from './physical-ids';
