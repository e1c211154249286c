export type { Provider, ProviderRequest, ProviderResult, ContextItem, TaskKind } from "./types.js";
export { ProviderError } from "./errors.js";
